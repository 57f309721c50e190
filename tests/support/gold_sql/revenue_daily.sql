-- revenue_daily answered directly in PostgreSQL: each movement dated by its own UTC day.
with movements as (
    select
        tenant_id, (placed_at at time zone 'utc')::date as revenue_date,
        1 as placed, 0 as paid, 0 as refunded, 0::numeric as gross, 0::numeric as refund
    from orders
    union all
    select tenant_id, (paid_at at time zone 'utc')::date, 0, 1, 0, total, 0
    from orders
    where paid_at is not null
    union all
    select tenant_id, (coalesce(refunded_at, cancelled_at) at time zone 'utc')::date, 0, 0, 1, 0, total
    from orders
    where paid_at is not null and coalesce(refunded_at, cancelled_at) is not null
)

select
    tenant_id::text as tenant_id,
    revenue_date,
    sum(placed) as orders_placed,
    sum(paid) as orders_paid,
    sum(refunded) as orders_refunded,
    sum(gross) as gross_revenue,
    sum(refund) as refunds,
    sum(gross) - sum(refund) as net_revenue
from movements
group by tenant_id, revenue_date
