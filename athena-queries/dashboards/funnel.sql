-- Conversion funnel: customers at each step per day (gold.event_funnel), for the daily
-- conversion rates and, summed over the chosen days, the funnel of customer-days.
-- The dashboards filter it by event_date.

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

final as (
    select
        event_date,
        product_viewers,
        cart_adders,
        checkout_starters,
        purchasers,
        view_to_cart_rate,
        cart_to_checkout_rate,
        checkout_to_purchase_rate,
        view_to_purchase_rate
    from event_funnel
)

select * from final
order by event_date
