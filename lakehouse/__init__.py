"""The local lakehouse runtime: a PostgreSQL cluster, a DMS-compatible replicator, a Glue
stand-in, a catalog and an Athena-compatible query engine, behind one ``lakehouse`` CLI."""

__version__ = "0.1.0"
