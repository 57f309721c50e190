-- Revenue trends: a tenant's daily orders and revenue (gold.revenue_daily), oldest day first.
-- The dashboards filter it by revenue_date.

with revenue_daily as (
    select
        tenant_id,
        revenue_date,
        orders_placed,
        orders_paid,
        orders_refunded,
        gross_revenue,
        refunds,
        net_revenue
    from gold.revenue_daily
),

final as (
    select
        revenue_date,
        orders_placed,
        orders_paid,
        orders_refunded,
        gross_revenue,
        refunds,
        net_revenue
    from revenue_daily
)

select * from final
order by revenue_date
