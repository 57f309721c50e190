"""Athena on one machine: the DDL generator and an Athena-SQL engine on DuckDB."""
