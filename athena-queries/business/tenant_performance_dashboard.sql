-- Tenant performance dashboard: one row per tenant with its customers, orders, revenue,
-- recurring revenue and events, ranked by net revenue.
-- Every metric comes from gold, which implements the definitions of glue-scripts/README.md
-- ("Definitions": paid order, gross revenue, refund, net revenue, average order value, active
-- customer, MRR). gold.tenant_summary holds all of it, the slug and the MRR, subscriptions and
-- paying customers of the tenant's latest month of gold.subscription_metrics included, so the
-- dashboard reads one row per tenant and ranks it.

select
    rank() over (order by net_revenue desc) as net_revenue_rank,
    tenant_name,
    tenant_slug,
    plan as tenant_plan,
    is_active as is_tenant_active,
    customers,
    active_customers,
    orders,
    completed_orders,
    paid_orders,
    gross_revenue,
    refunds,
    net_revenue,
    average_order_value,
    mrr_month,
    mrr,
    active_subscriptions,
    paying_customers,
    events
from gold.tenant_summary
order by net_revenue_rank, tenant_slug;
