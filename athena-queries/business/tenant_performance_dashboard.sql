-- Tenant performance dashboard: one row per tenant with its customers, orders, revenue,
-- subscriptions and engagement, ranked by net revenue.
-- Revenue is counted on paid orders (paid_at set); refunds are the totals of refunded orders.

with tenants as (
    select
        id as tenant_id,
        name as tenant_name,
        slug as tenant_slug,
        plan as tenant_plan,
        is_active as is_tenant_active
    from silver.tenants
),

customer_stats as (
    select
        tenant_id,
        count(*) as customers,
        sum(case when status = 'active' then 1 else 0 end) as active_customers
    from silver.customers
    group by tenant_id
),

order_stats as (
    select
        tenant_id,
        count(*) as orders,
        sum(case when paid_at is not null then 1 else 0 end) as paid_orders,
        sum(case when paid_at is not null then total else 0 end) as gross_revenue,
        sum(case when status = 'refunded' then total else 0 end) as refunds
    from silver.orders
    group by tenant_id
),

subscription_stats as (
    select
        tenant_id,
        sum(case when status = 'active' then 1 else 0 end) as active_subscriptions,
        sum(case when status = 'active' then monthly_amount else 0 end) as mrr
    from silver.subscriptions
    group by tenant_id
),

event_stats as (
    select
        tenant_id,
        count(*) as events,
        count(distinct customer_id) as engaged_customers
    from silver.events
    group by tenant_id
),

joined as (
    select
        tenants.tenant_name,
        tenants.tenant_slug,
        tenants.tenant_plan,
        tenants.is_tenant_active,
        coalesce(customer_stats.customers, 0) as customers,
        coalesce(customer_stats.active_customers, 0) as active_customers,
        coalesce(order_stats.orders, 0) as orders,
        coalesce(order_stats.paid_orders, 0) as paid_orders,
        coalesce(order_stats.gross_revenue, 0) as gross_revenue,
        coalesce(order_stats.refunds, 0) as refunds,
        coalesce(subscription_stats.active_subscriptions, 0) as active_subscriptions,
        coalesce(subscription_stats.mrr, 0) as mrr,
        coalesce(event_stats.events, 0) as events,
        coalesce(event_stats.engaged_customers, 0) as engaged_customers
    from tenants
    left join customer_stats on customer_stats.tenant_id = tenants.tenant_id
    left join order_stats on order_stats.tenant_id = tenants.tenant_id
    left join subscription_stats on subscription_stats.tenant_id = tenants.tenant_id
    left join event_stats on event_stats.tenant_id = tenants.tenant_id
),

final as (
    select
        tenant_name,
        tenant_slug,
        tenant_plan,
        is_tenant_active,
        customers,
        active_customers,
        orders,
        paid_orders,
        gross_revenue,
        refunds,
        gross_revenue - refunds as net_revenue,
        case
            when paid_orders > 0
                then round(cast(gross_revenue as double) / paid_orders, 2)
        end as average_order_value,
        active_subscriptions,
        mrr,
        events,
        engaged_customers,
        rank() over (order by gross_revenue - refunds desc) as net_revenue_rank
    from joined
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
    paid_orders,
    gross_revenue,
    refunds,
    net_revenue,
    average_order_value,
    active_subscriptions,
    mrr,
    events,
    engaged_customers
from final
order by net_revenue_rank, tenant_slug;
