-- revenue_monthly answered directly in PostgreSQL, with a calendar of months per tenant.
with movements as (
    select
        tenant_id, date_trunc('month', placed_at at time zone 'utc')::date as revenue_month,
        1 as placed, 0 as paid, 0 as refunded, 0::numeric as gross, 0::numeric as refund
    from orders
    union all
    select tenant_id, date_trunc('month', paid_at at time zone 'utc')::date, 0, 1, 0, total, 0
    from orders
    where paid_at is not null
    union all
    select
        tenant_id, date_trunc('month', coalesce(refunded_at, cancelled_at) at time zone 'utc')::date,
        0, 0, 1, 0, total
    from orders
    where paid_at is not null and coalesce(refunded_at, cancelled_at) is not null
),

monthly as (
    select
        tenant_id,
        revenue_month,
        sum(placed) as orders_placed,
        sum(paid) as orders_paid,
        sum(refunded) as orders_refunded,
        sum(gross) as gross_revenue,
        sum(refund) as refunds
    from movements
    group by tenant_id, revenue_month
),

calendar as (
    select
        tenant_id,
        generate_series(min(revenue_month), max(revenue_month), interval '1 month')::date
            as revenue_month
    from monthly
    group by tenant_id
),

filled as (
    select
        c.tenant_id,
        c.revenue_month,
        coalesce(m.orders_placed, 0) as orders_placed,
        coalesce(m.orders_paid, 0) as orders_paid,
        coalesce(m.orders_refunded, 0) as orders_refunded,
        coalesce(m.gross_revenue, 0) as gross_revenue,
        coalesce(m.refunds, 0) as refunds,
        coalesce(m.gross_revenue, 0) - coalesce(m.refunds, 0) as net_revenue
    from calendar as c
    left join monthly as m on m.tenant_id = c.tenant_id and m.revenue_month = c.revenue_month
),

with_previous as (
    select
        *,
        lag(net_revenue) over (partition by tenant_id order by revenue_month)
            as previous_net_revenue
    from filled
)

select
    tenant_id::text as tenant_id,
    revenue_month,
    orders_placed,
    orders_paid,
    orders_refunded,
    gross_revenue,
    refunds,
    net_revenue,
    previous_net_revenue,
    case
        when previous_net_revenue > 0
            then round((net_revenue - previous_net_revenue) / previous_net_revenue, 4)
    end as net_revenue_growth
from with_previous
