"""The arguments every lakehouse Glue job takes, resolved once at the edge of a script, and what
a job needs of its Glue context."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from lakehouse_glue.iceberg import check_catalog_name

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


class GlueContextLike(Protocol):
    """What the jobs need of ``awsglue.context.GlueContext`` (real, or the local stand-in)."""

    @property
    def spark_session(self) -> SparkSession: ...

    @property
    def create_dynamic_frame(self) -> Any: ...


#: Exactly the arguments of the cross-team contract; Terraform sets them as default arguments.
JOB_ARGUMENTS = (
    "JOB_NAME",
    "bronze_path",
    "silver_path",
    "gold_path",
    "quarantine_path",
    "reports_path",
    "full_refresh",
    "iceberg_catalog",
    # The custom metrics (lakehouse_glue.metrics): "" as the namespace only records them.
    "metrics_namespace",
    "metrics_deployment",
)

#: Arguments a job takes when given. Glue's ``getResolvedOptions`` makes every name it is asked
#: for required, so a script asks for these only when they are present: :func:`job_arguments`.
OPTIONAL_ARGUMENTS = (
    # Silver jobs: the largest slice of bronze (compressed bytes) read and merged at once
    # (lakehouse_glue/slices.py); unset, a sixteenth of the driver's heap.
    "slice_bytes",
)


def job_arguments(argv: list[str]) -> list[str]:
    """The names to resolve from ``argv``: every contract argument, and the optional ones given."""
    given = [
        name
        for name in OPTIONAL_ARGUMENTS
        if any(a == f"--{name}" or a.startswith(f"--{name}=") for a in argv)
    ]
    return [*JOB_ARGUMENTS, *given]


def parse_size(value: str, name: str) -> int:
    """A positive whole number of bytes; anything else is an error naming the argument."""
    text = value.strip()
    if not text.isdigit() or int(text) < 1:
        raise ValueError(f"job argument --{name} must be a positive number of bytes, got {value!r}")
    return int(text)


def parse_flag(value: str, name: str) -> bool:
    """Parse a ``"true"``/``"false"`` job argument; anything else is an error, not a default."""
    text = value.strip().lower()
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no"):
        return False
    raise ValueError(f"job argument --{name} must be 'true' or 'false', got {value!r}")


@dataclass(frozen=True)
class JobArgs:
    """The resolved job arguments, typed."""

    job_name: str
    bronze_path: str
    silver_path: str
    gold_path: str
    quarantine_path: str
    reports_path: str
    full_refresh: bool
    #: The Spark catalog holding the ``silver`` and ``gold`` Iceberg namespaces.
    iceberg_catalog: str
    job_run_id: str | None = None
    #: CloudWatch namespace of the job's metrics ("": recorded in the reports only).
    metrics_namespace: str = ""
    #: Value of the metrics' deployment dimension (Terraform: the deployment's name).
    metrics_deployment: str = ""
    #: Silver jobs: the largest slice of bronze read at once; ``None``: from the driver's heap.
    slice_bytes: int | None = None

    @classmethod
    def from_resolved(cls, args: dict[str, Any]) -> JobArgs:
        """Build from the dict ``getResolvedOptions(sys.argv, JOB_ARGUMENTS)`` returns."""
        missing = [a for a in JOB_ARGUMENTS if a not in args]
        if missing:
            raise ValueError(f"missing job arguments: {', '.join('--' + m for m in missing)}")
        return cls(
            job_name=str(args["JOB_NAME"]),
            bronze_path=str(args["bronze_path"]).rstrip("/"),
            silver_path=str(args["silver_path"]).rstrip("/"),
            gold_path=str(args["gold_path"]).rstrip("/"),
            quarantine_path=str(args["quarantine_path"]).rstrip("/"),
            reports_path=str(args["reports_path"]).rstrip("/"),
            full_refresh=parse_flag(str(args["full_refresh"]), "full_refresh"),
            iceberg_catalog=check_catalog_name(str(args["iceberg_catalog"])),
            job_run_id=str(args["JOB_RUN_ID"]) if args.get("JOB_RUN_ID") else None,
            metrics_namespace=str(args["metrics_namespace"]).strip(),
            metrics_deployment=str(args["metrics_deployment"]).strip(),
            slice_bytes=(
                parse_size(str(args["slice_bytes"]), "slice_bytes")
                if args.get("slice_bytes")
                else None
            ),
        )
