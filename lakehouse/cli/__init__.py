"""The ``lakehouse`` console script: one module per command group."""
