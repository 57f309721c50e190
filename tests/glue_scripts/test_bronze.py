"""Bronze file inspection: what a file's header says before any row is read.

Both inspectors, the one that decompresses a whole file (after a failed read) and the one that
reads only the first bytes (before every read), judge the header line the same way: no
header, a column named twice, or a good header with its columns in order.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable

import pytest
from lakehouse_glue.bronze import InspectedFile, _inspect_head, _inspect_one

URI = "s3://lake/bronze/saas/customers/20240101-000000000001.csv.gz"
SUFFIX = ".csv.gz"
Inspector = Callable[[str, bytes, str], InspectedFile]


@pytest.mark.parametrize("inspect", [_inspect_one, _inspect_head])
@pytest.mark.parametrize(
    ("text", "rule", "header"),
    [
        ("Op,id,tenant_id\nI,1,t\n", None, ("Op", "id", "tenant_id")),
        ('"Op","id"\n', None, ("Op", "id")),
        ("\nI,1,t\n", "missing_header", ()),
        ("  \nI,1,t\n", "missing_header", ()),
        ("Op,id,id\nI,1,2\n", "malformed_header", ("Op", "id", "id")),
    ],
)
def test_the_header_line_is_judged_alike_by_both_inspectors(
    inspect: Inspector, text: str, rule: str | None, header: tuple[str, ...]
) -> None:
    found = inspect(URI, gzip.compress(text.encode()), SUFFIX)
    assert (found.uri, found.header, found.error_rule) == (URI, header, rule)
    assert found.ok == (rule is None)
    if rule == "malformed_header":
        assert found.error == "duplicate column in ('Op', 'id', 'id')"


@pytest.mark.parametrize("inspect", [_inspect_one, _inspect_head])
def test_a_file_that_is_not_gzip_or_not_named_so_is_refused(inspect: Inspector) -> None:
    assert inspect(URI, b"Op,id\n", SUFFIX).error_rule == "unreadable_file"
    named = inspect(URI.replace(".csv.gz", ".csv"), gzip.compress(b"Op,id\n"), SUFFIX)
    assert named.error_rule == "unexpected_file"
