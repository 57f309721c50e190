-- Gold exploration: the business marts, one folder per tenant.

-- 1. The tenant summary, best net revenue first.
with summary as (
    select
        tenant_id,
        tenant_name,
        plan,
        customers,
        active_customers,
        orders,
        paid_orders,
        gross_revenue,
        refunds,
        net_revenue,
        average_order_value,
        events
    from gold.tenant_summary
)

select
    tenant_name,
    plan,
    customers,
    active_customers,
    orders,
    paid_orders,
    gross_revenue,
    refunds,
    net_revenue,
    average_order_value,
    events
from summary
order by net_revenue desc, tenant_name;

-- 2. Monthly revenue across tenants.
with monthly as (
    select
        revenue_month,
        orders_paid,
        gross_revenue,
        refunds,
        net_revenue
    from gold.revenue_monthly
)

select
    revenue_month,
    sum(orders_paid) as orders_paid,
    sum(gross_revenue) as gross_revenue,
    sum(refunds) as refunds,
    sum(net_revenue) as net_revenue
from monthly
group by revenue_month
order by revenue_month;

-- 3. The ten best revenue days across tenants.
with daily as (
    select
        tenant_id,
        revenue_date,
        net_revenue
    from gold.revenue_daily
)

select
    tenant_id,
    revenue_date,
    net_revenue
from daily
order by net_revenue desc, revenue_date, tenant_id
limit 10;
