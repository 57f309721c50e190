"""The factory's weighted options are keyed by the values ``entities.json`` accepts."""

from __future__ import annotations

import pytest
from lakehouse_glue.model import load_declaration

from lakehouse.source import factory


@pytest.mark.parametrize(
    ("entity", "column", "options"),
    [
        ("customers", "status", factory.CUSTOMER_STATUSES),
        ("tenants", "plan", factory.TENANT_PLANS),
        ("subscriptions", "plan", factory.SUBSCRIPTION_PLANS),
        ("events", "event_type", factory.EVENT_TYPES),
    ],
)
def test_each_declared_value_has_one_weight(
    entity: str, column: str, options: tuple[tuple[object, ...], ...]
) -> None:
    declared = load_declaration().entity(entity).column(column).accepted_values
    assert declared is not None
    assert sorted(str(o[0]) for o in options) == sorted(declared)


@pytest.mark.parametrize(
    "options",
    [
        (("active", 80), ("inactive", 12)),  # a declared value without a weight
        (("active", 80), ("inactive", 12), ("churned", 8), ("zombie", 1)),  # undeclared
        (("active", 80), ("active", 12), ("churned", 8)),  # one value weighted twice
    ],
)
def test_weights_that_drift_from_the_declaration_are_refused(
    options: tuple[tuple[object, ...], ...],
) -> None:
    with pytest.raises(ValueError, match=r"customers\.status .* entities\.json accepts"):
        factory.declared_options("customers", "status", options)
