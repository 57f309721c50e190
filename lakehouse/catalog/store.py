"""The local stand-in for the Glue Data Catalog: one JSON document per table.

Layout under ``settings.catalog_uri``: ``<database>/<table>.json``. A document holds what a Glue
table holds (columns with Athena types, partition keys, location, format, serde settings) plus
what the crawler saw (partition values, file count, schema drift, crawl time). The Athena stand-in
resolves ``database.table`` names through it, as Athena resolves them through Glue.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from lakehouse.errors import LakehouseError

DATABASES = ("bronze", "silver", "gold")
# A database or table name is also a file name: nothing that could leave the catalog folder.
_SAFE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]{0,254}")


@dataclass(frozen=True)
class CatalogColumn:
    """A column with its Athena (Hive DDL) type: ``string``, ``decimal(12,2)``, ``timestamp``..."""

    name: str
    type: str


@dataclass(frozen=True)
class Drift:
    """Schema differences found by a crawl.

    ``*_vs_declaration`` compare with ``entities.json`` (bronze: with the bronze contract's
    columns around the declared ones); ``*_vs_previous`` compare with the previous crawl.
    """

    added_vs_declaration: tuple[str, ...] = ()
    missing_vs_declaration: tuple[str, ...] = ()
    added_vs_previous: tuple[str, ...] = ()
    removed_vs_previous: tuple[str, ...] = ()
    type_changed_vs_previous: tuple[str, ...] = ()

    @property
    def any(self) -> bool:
        return bool(
            self.added_vs_declaration
            or self.missing_vs_declaration
            or self.added_vs_previous
            or self.removed_vs_previous
            or self.type_changed_vs_previous
        )

    def describe(self) -> str:
        """A short human summary, ``-`` when there is no drift."""
        parts: list[str] = []
        labels = (
            ("+decl", self.added_vs_declaration),
            ("-decl", self.missing_vs_declaration),
            ("+prev", self.added_vs_previous),
            ("-prev", self.removed_vs_previous),
            ("~prev", self.type_changed_vs_previous),
        )
        for label, names in labels:
            if names:
                parts.append(f"{label}: {', '.join(names)}")
        return "; ".join(parts) or "-"


@dataclass(frozen=True)
class CatalogTable:
    """One registered table."""

    database: str
    name: str
    # "csv" (bronze), "iceberg" (silver, gold), "parquet" (silver, gold of a lake written
    # before they became Iceberg tables)
    format: str
    location: str
    columns: tuple[CatalogColumn, ...]
    partition_keys: tuple[CatalogColumn, ...]
    partitions: tuple[str, ...]
    files: int
    crawled_at: str
    drift: Drift = field(default_factory=Drift)
    tenant_column: str | None = None
    serde: dict[str, str] = field(default_factory=dict)

    @property
    def qualified_name(self) -> str:
        return f"{self.database}.{self.name}"

    @property
    def all_columns(self) -> tuple[CatalogColumn, ...]:
        """Data columns then partition keys, as Athena lists them."""
        return self.columns + self.partition_keys

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CatalogTable:
        drift = data.get("drift") or {}
        return cls(
            database=data["database"],
            name=data["name"],
            format=data["format"],
            location=data["location"],
            columns=tuple(CatalogColumn(**c) for c in data["columns"]),
            partition_keys=tuple(CatalogColumn(**c) for c in data["partition_keys"]),
            partitions=tuple(data["partitions"]),
            files=int(data["files"]),
            crawled_at=data["crawled_at"],
            drift=Drift(**{k: tuple(v) for k, v in drift.items()}),
            tenant_column=data.get("tenant_column"),
            serde=dict(data.get("serde") or {}),
        )


def local_dir(uri: str, what: str) -> Path:
    """The local folder of a lake location; the local engines do not read S3."""
    if uri.startswith("s3://"):
        raise LakehouseError(
            f"{what} is {uri}: the local catalog and Athena stand-in work on a local lake only. "
            "Set LAKEHOUSE_LAKE to a folder, or use the real Glue crawler and Athena on AWS."
        )
    return Path(uri)


@dataclass
class Catalog:
    """The tables of the local catalog, keyed by ``database.table`` (lower case)."""

    root: Path
    tables: dict[str, CatalogTable] = field(default_factory=dict)
    #: SHA-256 of the documents the tables were read from (:func:`load_catalog`); None when
    #: the tables may differ from any set of documents (built in memory, or changed since).
    fingerprint: str | None = None

    def get(self, database: str, name: str) -> CatalogTable | None:
        return self.tables.get(f"{database.lower()}.{name.lower()}")

    def in_database(self, database: str) -> list[CatalogTable]:
        return sorted(
            (t for t in self.tables.values() if t.database == database), key=lambda t: t.name
        )

    def path_of(self, database: str, name: str) -> Path:
        for part in (database, name):
            if not _SAFE_NAME.fullmatch(part):
                raise LakehouseError(
                    f"catalog name {part!r} is not usable: use letters, digits, '_' and '-'"
                )
        return self.root / database / f"{name}.json"

    def save(self, table: CatalogTable) -> Path:
        """Write one table document atomically and durably.

        The document is written under a temporary name of its own in the same folder, then
        renamed over the old one (:meth:`lakehouse.storage.LocalStorage.open_atomic`): two
        processes saving the same table at once each rename a complete document of their own,
        so a reader sees one of them whole, never a mix, and neither fails.
        """
        from lakehouse.storage import LocalStorage

        path = self.path_of(table.database, table.name)
        document = json.dumps(table.to_json(), indent=2) + "\n"
        LocalStorage(self.root).write_bytes(
            f"{table.database}/{table.name}.json", document.encode("utf-8")
        )
        self.tables[table.qualified_name] = table
        self.fingerprint = None
        return path

    def delete(self, database: str, name: str) -> None:
        """Remove a table whose data is gone (as a crawler with DELETE_FROM_DATABASE does)."""
        self.path_of(database, name).unlink(missing_ok=True)
        self.tables.pop(f"{database}.{name}", None)
        self.fingerprint = None


def _documents(root: Path) -> list[Path]:
    """Every table document under ``root``: the lake's databases, then any other a Glue job
    registered (catalog sinks)."""
    others = sorted(
        p.name
        for p in (root.iterdir() if root.is_dir() else [])
        if p.is_dir() and p.name not in DATABASES and _SAFE_NAME.fullmatch(p.name)
    )
    out: list[Path] = []
    for database in (*DATABASES, *others):
        folder = root / database
        if folder.is_dir():
            out += sorted(folder.glob("*.json"))
    return out


def catalog_stamp(catalog_uri: str) -> tuple[tuple[str, int, int, int], ...]:
    """What changes whenever a table document is written, added or removed: each document's
    name, inode, modification time and size (:meth:`Catalog.save` renames a new file over a
    document, so a saved document always has a new inode). Cheaper than reading the documents:
    a process that keeps a catalog reads it again only when its stamp changed."""
    out = []
    for path in _documents(local_dir(catalog_uri, "the catalog location")):
        try:
            st = path.stat()
        except FileNotFoundError:
            continue  # deleted since the listing: the next stamp differs anyway
        out.append((str(path), st.st_ino, st.st_mtime_ns, st.st_size))
    return tuple(out)


def load_catalog(catalog_uri: str) -> Catalog:
    """Read every table document under ``catalog_uri`` (an empty catalog if none exist)."""
    root = local_dir(catalog_uri, "the catalog location")
    catalog = Catalog(root=root)
    digest = hashlib.sha256()
    for path in _documents(root):
        try:
            document = path.read_bytes()
            table = CatalogTable.from_json(json.loads(document.decode("utf-8")))
        except (ValueError, KeyError, TypeError) as exc:
            raise LakehouseError(
                f"catalog file {path} is unreadable ({exc}); delete it and run "
                "`lakehouse crawl` again"
            ) from exc
        catalog.tables[table.qualified_name] = table
        for part in (f"{path.parent.name}/{path.name}".encode(), document):
            digest.update(len(part).to_bytes(8, "big"))
            digest.update(part)
    catalog.fingerprint = digest.hexdigest()
    return catalog
