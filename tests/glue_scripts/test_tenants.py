"""Tenant ids: a text that goes into SQL is matched whole."""

from __future__ import annotations

import pytest
from lakehouse_glue.tenants import TenantIdError, check_tenant_id

TENANT = "0e0e0e0e-1111-2222-3333-44444444abcd"


def test_a_lower_case_uuid_is_a_tenant_id() -> None:
    assert check_tenant_id(TENANT) == TENANT


@pytest.mark.parametrize(
    "hostile",
    [
        TENANT + "\n",  # Python's "$" alone matches before a final line break
        TENANT.upper(),
        TENANT + "' or '1'='1",
        " " + TENANT,
        TENANT[:-1],
        "",
    ],
)
def test_anything_else_is_refused_before_it_reaches_sql(hostile: str) -> None:
    with pytest.raises(TenantIdError, match="lower-case UUID"):
        check_tenant_id(hostile)
