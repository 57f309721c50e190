"""The sqlglot schema of the local catalog: every table's columns with their Athena types."""

from __future__ import annotations

from sqlglot.schema import MappingSchema

from lakehouse.catalog.store import Catalog


def schema_of(catalog: Catalog) -> MappingSchema:
    """A :class:`MappingSchema` (``database.table.column -> type``) of ``catalog``'s tables."""
    mapping: dict[str, object] = {}
    for table in catalog.tables.values():
        columns = {c.name.lower(): _athena_type(c.type) for c in table.all_columns}
        database = mapping.setdefault(table.database.lower(), {})
        assert isinstance(database, dict)
        database[table.name.lower()] = columns
    return MappingSchema(mapping, dialect="athena")


def _athena_type(hive_type: str) -> str:
    t = hive_type.strip().lower()
    return {"string": "varchar", "int": "integer", "float": "real", "binary": "varbinary"}.get(t, t)
