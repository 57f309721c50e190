-- tenant_summary answered directly in PostgreSQL (Definitions: paid order, refund, active customer,
-- MRR at the end of the tenant's last month with a subscription start or cancellation).
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
),

subs as (
    select
        tenant_id,
        customer_id,
        monthly_amount,
        cancelled_at,
        greatest(started_at, coalesce(trial_ends_at, started_at)) as paying_from,
        date_trunc('month', started_at at time zone 'utc')::date as start_month,
        date_trunc('month', cancelled_at at time zone 'utc')::date as cancel_month
    from subscriptions
),

last_months as (
    select tenant_id, max(greatest(start_month, coalesce(cancel_month, start_month))) as mrr_month
    from subs
    group by tenant_id
),

checked as (
    select
        s.tenant_id,
        s.customer_id,
        s.monthly_amount,
        s.paying_from < ((l.mrr_month + interval '1 month') at time zone 'utc')
        and (
            s.cancelled_at is null
            or s.cancelled_at >= ((l.mrr_month + interval '1 month') at time zone 'utc')
        ) as is_paying
    from subs as s
    inner join last_months as l on l.tenant_id = s.tenant_id
),

per_customer as (
    select
        tenant_id,
        customer_id,
        coalesce(sum(monthly_amount) filter (where is_paying), 0) as mrr,
        count(*) filter (where is_paying) as subscriptions
    from checked
    group by 1, 2
),

latest as (
    select
        l.tenant_id,
        l.mrr_month,
        sum(c.mrr) as mrr,
        sum(c.subscriptions)::bigint as active_subscriptions,
        count(*) filter (where c.mrr > 0) as paying_customers
    from last_months as l
    inner join per_customer as c on c.tenant_id = l.tenant_id
    group by 1, 2
)

select
    t.id::text as tenant_id,
    t.name as tenant_name,
    t.slug as tenant_slug,
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
    coalesce(e.events, 0) as events,
    m.mrr_month,
    coalesce(m.mrr, 0) as mrr,
    coalesce(m.active_subscriptions, 0) as active_subscriptions,
    coalesce(m.paying_customers, 0) as paying_customers
from tenants as t
left join customer_counts as c on c.tenant_id = t.id
left join order_counts as o on o.tenant_id = t.id
left join event_counts as e on e.tenant_id = t.id
left join latest as m on m.tenant_id = t.id
