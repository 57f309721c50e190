"""A pyiceberg catalog that commits in Iceberg's Hadoop (file system) layout, for tests.

pyiceberg has no Hadoop catalog; the Glue jobs write through Iceberg Java's, which keeps
``<warehouse>/<namespace>/<table>/metadata/vN.metadata.json`` and ``version-hint.text``. This
catalog commits the same way (the new ``vN`` is created exclusively, so two writers cannot both
win; then the hint is replaced atomically), so tests build tables the local engine reads exactly
as it reads the jobs' tables, without starting Spark.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

from pyiceberg.catalog import MetastoreCatalog
from pyiceberg.exceptions import CommitFailedException, NoSuchTableError
from pyiceberg.io import load_file_io
from pyiceberg.partitioning import UNPARTITIONED_PARTITION_SPEC, PartitionSpec
from pyiceberg.schema import Schema
from pyiceberg.serializers import FromInputFile, ToOutputFile
from pyiceberg.table import CommitTableResponse, Table
from pyiceberg.table.sorting import UNSORTED_SORT_ORDER, SortOrder

from lakehouse.catalog.iceberg import current_metadata_file


class HadoopCatalog(MetastoreCatalog):
    """Tables at ``<warehouse>/<namespace>/<name>``; only create, load and commit."""

    def __init__(self, warehouse: Path) -> None:
        super().__init__("hadoop", warehouse=str(warehouse))
        self.warehouse = warehouse

    def _folder(self, identifier: str | tuple[str, ...]) -> Path:
        namespace, name = self.identifier_to_database_and_table(identifier)
        return self.warehouse / namespace / name

    def create_table(  # type: ignore[override]
        self,
        identifier: str | tuple[str, ...],
        schema: Schema,
        location: str | None = None,
        partition_spec: PartitionSpec = UNPARTITIONED_PARTITION_SPEC,
        sort_order: SortOrder = UNSORTED_SORT_ORDER,
        properties: dict[str, str] | None = None,
    ) -> Table:
        folder = self._folder(identifier)
        staged = self._create_staged_table(
            identifier, schema, str(folder), partition_spec, sort_order, properties or {}
        )
        self._publish(folder, 1, staged.metadata)
        return self.load_table(identifier)

    def load_table(self, identifier: str | tuple[str, ...]) -> Table:
        folder = self._folder(identifier)
        if not (folder / "metadata").is_dir():
            raise NoSuchTableError(str(folder))
        location = str(current_metadata_file(folder))
        io = load_file_io(self.properties, location)
        metadata = FromInputFile.table_metadata(io.new_input(location))
        return Table(
            self.identifier_to_tuple(identifier),
            metadata=metadata,
            metadata_location=location,
            io=load_file_io({**self.properties, **metadata.properties}, location),
            catalog=self,
        )

    def commit_table(self, table: Table, requirements: Any, updates: Any) -> CommitTableResponse:
        folder = self._folder(table.name())
        current = self.load_table(table.name())
        staged = self._update_and_stage_table(current, current.name(), requirements, updates)
        version = int(Path(current.metadata_location).name.split(".")[0][1:]) + 1
        location = self._publish(folder, version, staged.metadata)
        return CommitTableResponse(metadata=staged.metadata, metadata_location=str(location))

    def _publish(self, folder: Path, version: int, metadata: Any) -> Path:
        meta = folder / "metadata"
        meta.mkdir(parents=True, exist_ok=True)
        tmp = meta / f".{uuid.uuid4()}.metadata.json.tmp"
        io = load_file_io(self.properties, str(tmp))
        ToOutputFile.table_metadata(metadata, io.new_output(str(tmp)))
        target = meta / f"v{version}.metadata.json"
        try:
            os.link(tmp, target)  # fails if another writer created vN first
        except FileExistsError as exc:
            raise CommitFailedException(f"{target} exists: a concurrent commit won") from exc
        finally:
            tmp.unlink()
        hint_tmp = meta / f".{uuid.uuid4()}-version-hint.temp"
        hint_tmp.write_text(str(version), encoding="utf-8")
        hint_tmp.replace(meta / "version-hint.text")
        return target


def _not_here(*args: Any, **kwargs: Any) -> Any:
    raise NotImplementedError("the test Hadoop catalog only creates, loads and commits tables")


for _name in list(HadoopCatalog.__abstractmethods__):
    setattr(HadoopCatalog, _name, _not_here)
HadoopCatalog.__abstractmethods__ = frozenset()
