"""The second wall: a DuckDB connection that can read only what the session's views read.

A :class:`Session` creates one DuckDB view (or, for files shared by every tenant, one table of
copied rows) per catalog table a statement uses, and then locks itself down: ``allowed_directories``
is set to the folders those views still read, external access is turned off and the configuration
is locked, so that even SQL that slipped through :mod:`lakehouse.athena.guard` cannot open another
file, attach a database or change a setting.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import duckdb

from lakehouse.athena import views
from lakehouse.athena.errors import AthenaQueryError
from lakehouse.catalog.store import DATABASES, CatalogTable


class Session:
    """One in-memory DuckDB connection with a schema per catalog database.

    Args:
        tenant_id: The tenant whose rows the views read; ``None`` reads every tenant.
        lake_folders: Without a tenant, the folders that stay readable after lock-down (the
            bronze, silver and gold roots), so that later statements can add views.
    """

    def __init__(self, tenant_id: str | None, lake_folders: Sequence[Path]) -> None:
        self.tenant_id = tenant_id
        self._lake_folders = tuple(lake_folders)
        self.con = duckdb.connect(":memory:")
        self._registered: set[str] = set()
        self._folders: set[Path] = set()
        self._paths: set[Path] = set()
        self.locked = False
        # Athena evaluates timestamps in UTC; DuckDB's session zone would otherwise leak in.
        self.con.execute("set TimeZone = 'UTC'")
        for database in DATABASES:
            self.con.execute(f"create schema if not exists {database}")

    def close(self) -> None:
        self.con.close()

    def scalar_rows(self, sql: str, params: Sequence[object]) -> list[tuple[object, ...]]:
        """Rows of an engine-built query (never user SQL), before lock-down."""
        return self.con.execute(sql, list(params)).fetchall()

    def register(self, tables: Sequence[CatalogTable]) -> None:
        """Create the views (or copied tables) of ``tables`` not created yet."""
        for table in tables:
            if table.qualified_name in self._registered:
                continue
            if self.locked and self.tenant_id is not None:
                raise AthenaQueryError(
                    "ACCESS_DENIED",
                    f"{table.qualified_name} was not part of the tenant session's tables; "
                    "run it in a new session",
                )
            target = f"{table.database}.{views.ident(table.name)}"
            source = views.resolve(table, self.tenant_id)
            kind = "table" if source.copy else "view"
            self.con.execute(f"create {kind} {target} as {source.sql}")
            self._folders.update(source.folders)
            self._paths.update(source.paths)
            self._registered.add(table.qualified_name)

    def lock_down(self) -> None:
        """Confine DuckDB to the files the session may read, for good.

        With a tenant: the folders and files its views read (bronze rows were copied already).
        Without:
        the lake roots, so views can still be created later but nothing outside the lake is
        reachable.
        """
        if self.tenant_id is not None:
            folders = sorted(f"{f}/" for f in self._folders)
        else:
            folders = [f"{f}/" for f in self._lake_folders]
        allowed = "[" + ", ".join(views.lit(f) for f in folders) + "]"
        self.con.execute(f"set allowed_directories = {allowed}")
        if self.tenant_id is not None:
            # Iceberg views read a literal list of files: exactly those stay readable.
            paths = "[" + ", ".join(views.lit(str(p)) for p in sorted(self._paths)) + "]"
            self.con.execute(f"set allowed_paths = {paths}")
        self.con.execute("set enable_external_access = false")
        self.con.execute("set lock_configuration = true")
        self.locked = True
