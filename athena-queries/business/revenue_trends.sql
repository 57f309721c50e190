-- Revenue trends: per tenant and UTC month, paid revenue, refunds, net revenue and its
-- month-over-month growth (percent, null for a tenant's first month or after a zero month).

with paid as (
    select
        tenant_id,
        cast(date_trunc('month', paid_at) as date) as revenue_month,
        total as order_total
    from silver.orders
    where paid_at is not null
),

refunded as (
    select
        tenant_id,
        cast(date_trunc('month', refunded_at) as date) as revenue_month,
        total as order_total
    from silver.orders
    where status = 'refunded' and refunded_at is not null
),

movements as (
    select tenant_id, revenue_month, order_total as gross_amount, 0 as refund_amount, 1 as paid_order
    from paid
    union all
    select tenant_id, revenue_month, 0 as gross_amount, order_total as refund_amount, 0 as paid_order
    from refunded
),

monthly as (
    select
        tenant_id,
        revenue_month,
        sum(paid_order) as paid_orders,
        sum(gross_amount) as gross_revenue,
        sum(refund_amount) as refunds,
        sum(gross_amount) - sum(refund_amount) as net_revenue
    from movements
    group by tenant_id, revenue_month
),

with_previous as (
    select
        tenant_id,
        revenue_month,
        paid_orders,
        gross_revenue,
        refunds,
        net_revenue,
        lag(net_revenue) over (partition by tenant_id order by revenue_month) as previous_net_revenue
    from monthly
),

tenants as (
    select id as tenant_id, slug as tenant_slug
    from silver.tenants
),

final as (
    select
        tenants.tenant_slug,
        with_previous.revenue_month,
        with_previous.paid_orders,
        with_previous.gross_revenue,
        with_previous.refunds,
        with_previous.net_revenue,
        with_previous.previous_net_revenue,
        case
            when with_previous.previous_net_revenue <> 0
                then round(
                    100 * cast(with_previous.net_revenue - with_previous.previous_net_revenue as double)
                    / cast(with_previous.previous_net_revenue as double),
                    2
                )
        end as net_revenue_growth_pct
    from with_previous
    inner join tenants on tenants.tenant_id = with_previous.tenant_id
)

select
    tenant_slug,
    revenue_month,
    paid_orders,
    gross_revenue,
    refunds,
    net_revenue,
    previous_net_revenue,
    net_revenue_growth_pct
from final
order by tenant_slug, revenue_month;
