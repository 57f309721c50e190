-- event_funnel answered directly in PostgreSQL (Definitions: visitor, funnel).
with per_visitor as (
    select
        tenant_id,
        (occurred_at at time zone 'utc')::date as event_date,
        coalesce('c:' || customer_id::text, 's:' || session_id) as visitor,
        max(case when event_type = 'product_view' then 1 else 0 end) as v,
        max(case when event_type = 'add_to_cart' then 1 else 0 end) as c,
        max(case when event_type = 'checkout_started' then 1 else 0 end) as k,
        max(case when event_type = 'purchase' then 1 else 0 end) as p
    from events
    where
        event_type in ('product_view', 'add_to_cart', 'checkout_started', 'purchase')
        and coalesce(customer_id::text, session_id) is not null
    group by 1, 2, 3
),

daily as (
    select
        tenant_id,
        event_date,
        sum(v) as product_viewers,
        sum(v * c) as cart_adders,
        sum(v * c * k) as checkout_starters,
        sum(v * c * k * p) as purchasers
    from per_visitor
    group by 1, 2
)

select
    tenant_id::text as tenant_id,
    event_date,
    product_viewers,
    cart_adders,
    checkout_starters,
    purchasers,
    round(cart_adders::numeric / nullif(product_viewers, 0), 4) as view_to_cart_rate,
    round(checkout_starters::numeric / nullif(cart_adders, 0), 4) as cart_to_checkout_rate,
    round(purchasers::numeric / nullif(checkout_starters, 0), 4) as checkout_to_purchase_rate,
    round(purchasers::numeric / nullif(product_viewers, 0), 4) as view_to_purchase_rate
from daily
