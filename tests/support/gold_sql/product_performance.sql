-- product_performance answered directly in PostgreSQL.
with paid_orders as (
    select
        tenant_id,
        id as order_id,
        coalesce(refunded_at, cancelled_at) is not null as is_refunded
    from orders
    where paid_at is not null
),

sold as (
    select
        i.tenant_id,
        i.product_id,
        sum(i.quantity) as units_sold,
        coalesce(sum(i.quantity) filter (where o.is_refunded), 0) as units_refunded,
        count(distinct i.order_id) as orders,
        sum(i.line_total) as gross_revenue,
        coalesce(sum(i.line_total) filter (where o.is_refunded), 0) as refunds
    from order_items as i
    inner join paid_orders as o on o.tenant_id = i.tenant_id and o.order_id = i.order_id
    group by 1, 2
)

select
    p.tenant_id::text as tenant_id,
    p.id::text as product_id,
    p.sku,
    p.name as product_name,
    p.category,
    p.is_active,
    coalesce(s.units_sold, 0) as units_sold,
    coalesce(s.units_refunded, 0) as units_refunded,
    coalesce(s.orders, 0) as orders,
    coalesce(s.gross_revenue, 0) as gross_revenue,
    coalesce(s.refunds, 0) as refunds,
    coalesce(s.gross_revenue, 0) - coalesce(s.refunds, 0) as net_revenue,
    p.cost as unit_cost,
    (coalesce(s.units_sold, 0) - coalesce(s.units_refunded, 0)) * p.cost as cost_of_goods,
    coalesce(s.gross_revenue, 0) - coalesce(s.refunds, 0)
    - (coalesce(s.units_sold, 0) - coalesce(s.units_refunded, 0)) * p.cost as gross_margin
from products as p
left join sold as s on s.tenant_id = p.tenant_id and s.product_id = p.id
