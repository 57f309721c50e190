-- Conversion funnel: per tenant and UTC day, the visitors reaching each step (product view, add
-- to cart, checkout, purchase) and the step-to-step and overall conversion rates.
-- From gold.event_funnel (glue-scripts/README.md "Definitions": visitor and funnel, ratio);
-- silver is joined only for the tenant's slug.

with event_funnel as (
    select
        tenant_id,
        event_date,
        product_viewers,
        cart_adders,
        checkout_starters,
        purchasers,
        view_to_cart_rate,
        cart_to_checkout_rate,
        checkout_to_purchase_rate,
        view_to_purchase_rate
    from gold.event_funnel
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
        event_funnel.event_date,
        event_funnel.product_viewers,
        event_funnel.cart_adders,
        event_funnel.checkout_starters,
        event_funnel.purchasers,
        event_funnel.view_to_cart_rate,
        event_funnel.cart_to_checkout_rate,
        event_funnel.checkout_to_purchase_rate,
        event_funnel.view_to_purchase_rate
    from event_funnel
    inner join tenants on tenants.tenant_id = event_funnel.tenant_id
)

select
    tenant_slug,
    event_date,
    product_viewers,
    cart_adders,
    checkout_starters,
    purchasers,
    view_to_cart_rate,
    cart_to_checkout_rate,
    checkout_to_purchase_rate,
    view_to_purchase_rate
from final
order by tenant_slug, event_date;
