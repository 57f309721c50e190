"""The result CSV is byte for byte what Athena writes for the same values."""

from __future__ import annotations

from pathlib import Path

from lakehouse.athena.engine import AthenaEngine
from lakehouse.catalog.store import Catalog
from lakehouse.config import Settings


def test_result_csv_prints_values_as_athena(tmp_path: Path) -> None:
    settings = Settings(lake=str(tmp_path), _env_file=None)  # type: ignore[call-arg]
    sql = """
        select 1e10 as d, 7 / 2 as q, DECIMAL '1.50' as m, ARRAY[1, NULL] as a,
               MAP(ARRAY['k'], ARRAY[1.5e0]) as kv, true as b, CAST(NULL AS integer) as n,
               TIMESTAMP '2001-08-22 03:04:05' as t, DATE '2001-08-22' as dt,
               'say "hi"' as s, zip(ARRAY[1], ARRAY['x']) as r
    """
    with AthenaEngine(settings, catalog=Catalog(root=tmp_path)) as engine:
        (result,) = engine.execute(sql)
    assert result.result_path is not None
    assert result.result_path.read_text(encoding="utf-8") == (
        '"d","q","m","a","kv","b","n","t","dt","s","r"\n'
        '"1.0E10","3","1.50","[1, null]","{k=1.5}","true",,"2001-08-22 03:04:05.000",'
        '"2001-08-22","say ""hi""","[{field0=1, field1=x}]"\n'
    )
