"""reconcile on an ``s3://`` lake (moto server): the same metrics as on a local lake."""

from __future__ import annotations

from pathlib import Path

import boto3
import pyarrow as pa
import pyarrow.parquet as pq
from lakehouse_glue.model import load_declaration
from pyiceberg.expressions import EqualTo
from pyiceberg.partitioning import UNPARTITIONED_PARTITION_SPEC, PartitionSpec
from pyiceberg.schema import Schema
from pyiceberg.table import Table
from pyiceberg.table.sorting import UNSORTED_SORT_ORDER, SortOrder

from lakehouse.reconcile import silver_metrics
from tests.lakehouse.test_reconcile import ACME, GLOBEX, SCHEMA, _expected, _rows
from tests.support.iceberg_catalog import HadoopCatalog
from tests.support.moto import MotoS3


class _S3LocatedCatalog(HadoopCatalog):
    """Metadata versions committed locally (then uploaded); manifests and data on S3."""

    def __init__(self, warehouse: Path, s3_root: str, endpoint: str) -> None:
        super().__init__(warehouse)
        self.s3_root = s3_root
        self.properties.update({"s3.endpoint": endpoint, "s3.region": "us-east-1"})

    def create_table(  # type: ignore[override]
        self,
        identifier: str | tuple[str, ...],
        schema: Schema,
        location: str | None = None,
        partition_spec: PartitionSpec = UNPARTITIONED_PARTITION_SPEC,
        sort_order: SortOrder = UNSORTED_SORT_ORDER,
        properties: dict[str, str] | None = None,
    ) -> Table:
        _, name = self.identifier_to_database_and_table(identifier)
        staged = self._create_staged_table(
            identifier, schema, f"{self.s3_root}/{name}", partition_spec, sort_order, {}
        )
        self._publish(self._folder(identifier), 1, staged.metadata)
        return self.load_table(identifier)


def _upload(folder: Path, bucket: str, prefix: str, s3: MotoS3) -> None:
    client = boto3.client("s3", endpoint_url=s3.endpoint, region_name="us-east-1")
    for path in folder.rglob("*"):
        if path.is_file():
            key = f"{prefix}/{path.relative_to(folder).as_posix()}"
            client.put_object(Bucket=bucket, Key=key, Body=path.read_bytes())


def test_reconcile_reads_an_iceberg_silver_on_s3_at_its_current_snapshot(
    s3_env: MotoS3,
    tmp_path: Path,
) -> None:
    entity = load_declaration().entity("products")
    bucket = s3_env.new_bucket()
    silver = f"s3://{bucket}/lake/silver"
    catalog = _S3LocatedCatalog(tmp_path, silver, s3_env.endpoint)
    table = catalog.create_table("silver.products", SCHEMA)
    with table.update_spec() as spec:
        spec.add_identity("tenant_id")
    first = _rows(ACME, 5, 1000, 1) + _rows(GLOBEX, 3, 2000, 1)
    catalog.load_table("silver.products").append(pa.Table.from_pylist(first, schema=SCHEMA))
    acme = _rows(ACME, 2, 5000, 2)  # acme rewritten: its first file stays, outside the snapshot
    catalog.load_table("silver.products").overwrite(
        pa.Table.from_pylist(acme, schema=SCHEMA), overwrite_filter=EqualTo("tenant_id", ACME)
    )
    _upload(tmp_path / "silver" / "products", bucket, "lake/silver/products", s3_env)
    got = silver_metrics(silver, entity)
    assert got == _expected([r for r in first if r["tenant_id"] == GLOBEX] + acme)


def test_reconcile_reads_a_plain_parquet_silver_on_s3(
    s3_env: MotoS3,
    tmp_path: Path,
) -> None:
    entity = load_declaration().entity("products")
    bucket = s3_env.new_bucket()
    rows = _rows(ACME, 4, 1234, 3) + _rows(GLOBEX, 2, 98, 4)
    local = tmp_path / "products"
    for tenant in (ACME, GLOBEX):
        mine = [
            {k: v for k, v in r.items() if k != "tenant_id"}
            for r in rows
            if r["tenant_id"] == tenant
        ]
        part = local / f"tenant_id={tenant}"
        part.mkdir(parents=True)
        pq.write_table(
            pa.Table.from_pylist(mine, schema=SCHEMA.remove(SCHEMA.get_field_index("tenant_id"))),
            part / "part-0.parquet",
        )
    _upload(local, bucket, "silver/products", s3_env)
    assert silver_metrics(f"s3://{bucket}/silver", entity) == _expected(rows)
    assert silver_metrics(f"s3://{bucket}/silver", load_declaration().entity("orders")) == {}
