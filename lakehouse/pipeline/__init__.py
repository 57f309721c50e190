"""The pipeline DAG (silver jobs, gold jobs, quality report) and the watch loop."""

from lakehouse.pipeline.run import PipelineResult, Step, plan, run_pipeline

__all__ = ["PipelineResult", "Step", "plan", "run_pipeline"]
