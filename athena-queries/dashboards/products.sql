-- Product performance: each product's units, revenue and margin over its whole history
-- (gold.product_performance), best sellers by net revenue first.

with product_performance as (
    select
        tenant_id,
        sku,
        product_name,
        category,
        is_active,
        units_sold,
        units_refunded,
        orders,
        gross_revenue,
        refunds,
        net_revenue,
        gross_margin
    from gold.product_performance
),

final as (
    select
        sku,
        product_name,
        category,
        is_active,
        units_sold,
        units_refunded,
        orders,
        gross_revenue,
        refunds,
        net_revenue,
        gross_margin
    from product_performance
)

select * from final
order by net_revenue desc, sku
