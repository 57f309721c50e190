"""Pure gold transforms: silver DataFrames in, one mart DataFrame out.

One module per subject (:mod:`.tenants`, :mod:`.revenue`, :mod:`.customers`, :mod:`.products`,
:mod:`.events`, :mod:`.billing`), on the shared definitions of :mod:`.common`. Each public
function builds one mart of ``declarations/gold.json``; its parameters are named
after the silver entities it reads (the mart's ``depends_on``, checked by a test). The terms
used here (paid order, refund, active customer, MRR, churn, overdue, ...) are defined once in the
"Definitions" section of ``glue-scripts/README.md``, and these functions implement exactly that.

Rules that hold everywhere:

- Money stays decimal: sums are cast to ``decimal(18,2)``; nothing goes through a double.
- Ratios are decimals rounded half up (``round``), null when the denominator is 0.
- Days and months are UTC: the jobs run with the Spark session time zone set to UTC.
- No Python UDFs and no ``collect``: everything is Spark SQL expressions.
"""

from __future__ import annotations

from lakehouse_glue.gold.transforms.billing import invoice_collections, subscription_metrics
from lakehouse_glue.gold.transforms.customers import (
    cohort_retention,
    customer_acquisition,
    customer_ltv,
    rfm_segment,
)
from lakehouse_glue.gold.transforms.events import active_customers, event_funnel
from lakehouse_glue.gold.transforms.products import product_performance
from lakehouse_glue.gold.transforms.revenue import revenue_daily, revenue_monthly
from lakehouse_glue.gold.transforms.tenants import tenant_summary

#: Mart name -> transform; the job scripts call the transform directly, this is for tests and
#: tooling that loop over every mart.
TRANSFORMS = {
    "tenant_summary": tenant_summary,
    "revenue_daily": revenue_daily,
    "revenue_monthly": revenue_monthly,
    "customer_acquisition": customer_acquisition,
    "cohort_retention": cohort_retention,
    "customer_ltv": customer_ltv,
    "product_performance": product_performance,
    "event_funnel": event_funnel,
    "active_customers": active_customers,
    "subscription_metrics": subscription_metrics,
    "invoice_collections": invoice_collections,
}


__all__ = [
    "TRANSFORMS",
    "active_customers",
    "cohort_retention",
    "customer_acquisition",
    "customer_ltv",
    "event_funnel",
    "invoice_collections",
    "product_performance",
    "revenue_daily",
    "revenue_monthly",
    "rfm_segment",
    "subscription_metrics",
    "tenant_summary",
]
