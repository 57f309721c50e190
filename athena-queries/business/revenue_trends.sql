-- Revenue trends: per tenant and UTC month, paid orders, gross revenue, refunds, net revenue and
-- its month-over-month growth (a ratio; null for a tenant's first month and after a month whose
-- net revenue was zero or negative). Months without sales are present with zeros.
-- From gold.revenue_monthly (glue-scripts/README.md "Definitions": paid order, refund, net
-- revenue, growth); silver is joined only for the tenant's slug.

with revenue_monthly as (
    select
        tenant_id,
        revenue_month,
        orders_paid as paid_orders,
        gross_revenue,
        refunds,
        net_revenue,
        previous_net_revenue,
        net_revenue_growth
    from gold.revenue_monthly
),

tenants as (
    select
        id as tenant_id,
        slug as tenant_slug
    from silver.tenants
),

final as (
    select
        tenants.tenant_slug,
        revenue_monthly.revenue_month,
        revenue_monthly.paid_orders,
        revenue_monthly.gross_revenue,
        revenue_monthly.refunds,
        revenue_monthly.net_revenue,
        revenue_monthly.previous_net_revenue,
        revenue_monthly.net_revenue_growth
    from revenue_monthly
    inner join tenants on tenants.tenant_id = revenue_monthly.tenant_id
)

select
    tenant_slug,
    revenue_month,
    paid_orders,
    gross_revenue,
    refunds,
    net_revenue,
    previous_net_revenue,
    net_revenue_growth
from final
order by tenant_slug, revenue_month;
