-- tenant_summary answered directly in PostgreSQL (Definitions: paid order, refund, active customer).
with customer_counts as (
    select
        tenant_id,
        count(*) as customers,
        count(*) filter (where status = 'active') as active_customers
    from customers
    group by tenant_id
),

order_counts as (
    select
        tenant_id,
        count(*) as orders,
        count(*) filter (where status = 'completed') as completed_orders,
        count(*) filter (where paid_at is not null) as paid_orders,
        coalesce(sum(total) filter (where paid_at is not null), 0) as gross_revenue,
        coalesce(sum(total) filter (
            where paid_at is not null and coalesce(refunded_at, cancelled_at) is not null
        ), 0) as refunds
    from orders
    group by tenant_id
),

event_counts as (
    select tenant_id, count(*) as events
    from events
    group by tenant_id
)

select
    t.id::text as tenant_id,
    t.name as tenant_name,
    t.plan,
    t.is_active,
    coalesce(c.customers, 0) as customers,
    coalesce(c.active_customers, 0) as active_customers,
    coalesce(o.orders, 0) as orders,
    coalesce(o.completed_orders, 0) as completed_orders,
    coalesce(o.paid_orders, 0) as paid_orders,
    coalesce(o.gross_revenue, 0) as gross_revenue,
    coalesce(o.refunds, 0) as refunds,
    coalesce(o.gross_revenue, 0) - coalesce(o.refunds, 0) as net_revenue,
    round(o.gross_revenue / nullif(o.paid_orders, 0), 2) as average_order_value,
    coalesce(e.events, 0) as events
from tenants as t
left join customer_counts as c on c.tenant_id = t.id
left join order_counts as o on o.tenant_id = t.id
left join event_counts as e on e.tenant_id = t.id
