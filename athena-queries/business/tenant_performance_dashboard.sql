-- Tenant performance dashboard: one row per tenant with its customers, orders, revenue,
-- recurring revenue and events, ranked by net revenue.
-- Every metric comes from gold, which implements the definitions of glue-scripts/README.md
-- ("Definitions": paid order, gross revenue, refund, net revenue, average order value, active
-- customer, MRR); silver is joined only for the tenant's slug.

with tenant_summary as (
    select
        tenant_id,
        tenant_name,
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
        events
    from gold.tenant_summary
),

tenants as (
    select
        id as tenant_id,
        slug as tenant_slug
    from silver.tenants
),

subscription_months as (
    select
        tenant_id,
        subscription_month,
        mrr,
        active_subscriptions,
        paying_customers,
        row_number() over (partition by tenant_id order by subscription_month desc) as month_rank
    from gold.subscription_metrics
),

latest_subscriptions as (
    select
        tenant_id,
        subscription_month as mrr_month,
        mrr,
        active_subscriptions,
        paying_customers
    from subscription_months
    where month_rank = 1
),

final as (
    select
        rank() over (order by tenant_summary.net_revenue desc) as net_revenue_rank,
        tenant_summary.tenant_name,
        tenants.tenant_slug,
        tenant_summary.tenant_plan,
        tenant_summary.is_tenant_active,
        tenant_summary.customers,
        tenant_summary.active_customers,
        tenant_summary.orders,
        tenant_summary.completed_orders,
        tenant_summary.paid_orders,
        tenant_summary.gross_revenue,
        tenant_summary.refunds,
        tenant_summary.net_revenue,
        tenant_summary.average_order_value,
        latest_subscriptions.mrr_month,
        coalesce(latest_subscriptions.mrr, 0) as mrr,
        coalesce(latest_subscriptions.active_subscriptions, 0) as active_subscriptions,
        coalesce(latest_subscriptions.paying_customers, 0) as paying_customers,
        tenant_summary.events
    from tenant_summary
    inner join tenants on tenants.tenant_id = tenant_summary.tenant_id
    left join latest_subscriptions on latest_subscriptions.tenant_id = tenant_summary.tenant_id
)

select
    net_revenue_rank,
    tenant_name,
    tenant_slug,
    tenant_plan,
    is_tenant_active,
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
from final
order by net_revenue_rank, tenant_slug;
