-- Conversion funnel: per tenant, distinct known customers reaching each step (product view,
-- add to cart, checkout, purchase) and the step-to-step conversion rates.

with steps as (
    select
        tenant_id,
        customer_id,
        event_type
    from silver.events
    where customer_id is not null
        and event_type in ('product_view', 'add_to_cart', 'checkout_started', 'purchase')
),

funnel as (
    select
        tenant_id,
        count(distinct case when event_type = 'product_view' then customer_id end) as viewers,
        count(distinct case when event_type = 'add_to_cart' then customer_id end) as cart_adders,
        count(distinct case when event_type = 'checkout_started' then customer_id end)
            as checkout_starters,
        count(distinct case when event_type = 'purchase' then customer_id end) as purchasers
    from steps
    group by tenant_id
),

tenants as (
    select id as tenant_id, slug as tenant_slug
    from silver.tenants
),

final as (
    select
        tenants.tenant_slug,
        funnel.viewers,
        funnel.cart_adders,
        funnel.checkout_starters,
        funnel.purchasers,
        round(cast(funnel.cart_adders as double) / nullif(funnel.viewers, 0), 4)
            as view_to_cart_rate,
        round(cast(funnel.checkout_starters as double) / nullif(funnel.cart_adders, 0), 4)
            as cart_to_checkout_rate,
        round(cast(funnel.purchasers as double) / nullif(funnel.checkout_starters, 0), 4)
            as checkout_to_purchase_rate
    from funnel
    inner join tenants on tenants.tenant_id = funnel.tenant_id
)

select
    tenant_slug,
    viewers,
    cart_adders,
    checkout_starters,
    purchasers,
    view_to_cart_rate,
    cart_to_checkout_rate,
    checkout_to_purchase_rate
from final
order by tenant_slug;
