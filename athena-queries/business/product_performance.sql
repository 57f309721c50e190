-- Product performance: per product, units and revenue from paid orders that were not refunded,
-- the cost of those goods and the gross margin (null when the product has no cost), ranked
-- within each tenant by revenue.

with sold_orders as (
    select
        tenant_id,
        id as order_id
    from silver.orders
    where paid_at is not null and status <> 'refunded'
),

sold_items as (
    select
        order_items.tenant_id,
        order_items.product_id,
        order_items.order_id,
        order_items.quantity,
        order_items.line_total
    from silver.order_items as order_items
    inner join sold_orders
        on sold_orders.tenant_id = order_items.tenant_id
        and sold_orders.order_id = order_items.order_id
),

product_sales as (
    select
        tenant_id,
        product_id,
        sum(quantity) as units_sold,
        count(distinct order_id) as orders,
        sum(line_total) as revenue
    from sold_items
    group by tenant_id, product_id
),

products as (
    select
        tenant_id,
        id as product_id,
        sku,
        name as product_name,
        category,
        cost as unit_cost
    from silver.products
),

tenants as (
    select id as tenant_id, slug as tenant_slug
    from silver.tenants
),

final as (
    select
        tenants.tenant_slug,
        products.sku,
        products.product_name,
        products.category,
        product_sales.units_sold,
        product_sales.orders,
        product_sales.revenue,
        products.unit_cost * product_sales.units_sold as cost_of_goods,
        product_sales.revenue - products.unit_cost * product_sales.units_sold as gross_margin,
        row_number() over (
            partition by products.tenant_id
            order by product_sales.revenue desc, products.sku
        ) as revenue_rank
    from product_sales
    inner join products
        on products.tenant_id = product_sales.tenant_id
        and products.product_id = product_sales.product_id
    inner join tenants on tenants.tenant_id = products.tenant_id
)

select
    tenant_slug,
    revenue_rank,
    sku,
    product_name,
    category,
    units_sold,
    orders,
    revenue,
    cost_of_goods,
    gross_margin
from final
order by tenant_slug, revenue_rank;
