-- Product performance: per product, units sold and refunded, revenue, refunds, net revenue, cost
-- of goods and gross margin (null when the product has no cost), ranked within each tenant by
-- net revenue.
-- From gold.product_performance (glue-scripts/README.md "Definitions": product sales); silver
-- is joined only for the tenant's slug.

with product_performance as (
    select
        tenant_id,
        product_id,
        sku,
        product_name,
        category,
        units_sold,
        units_refunded,
        orders,
        gross_revenue,
        refunds,
        net_revenue,
        cost_of_goods,
        gross_margin
    from gold.product_performance
),

tenants as (
    select
        id as tenant_id,
        slug as tenant_slug
    from silver.tenants
),

final as (
    select
        tenants.tenant_slug,
        row_number() over (
            partition by product_performance.tenant_id
            order by product_performance.net_revenue desc, product_performance.sku
        ) as net_revenue_rank,
        product_performance.sku,
        product_performance.product_name,
        product_performance.category,
        product_performance.units_sold,
        product_performance.units_refunded,
        product_performance.orders,
        product_performance.gross_revenue,
        product_performance.refunds,
        product_performance.net_revenue,
        product_performance.cost_of_goods,
        product_performance.gross_margin
    from product_performance
    inner join tenants on tenants.tenant_id = product_performance.tenant_id
)

select
    tenant_slug,
    net_revenue_rank,
    sku,
    product_name,
    category,
    units_sold,
    units_refunded,
    orders,
    gross_revenue,
    refunds,
    net_revenue,
    cost_of_goods,
    gross_margin
from final
order by tenant_slug, net_revenue_rank;
