-- Customer acquisition: new customers per signup month and the running total
-- (gold.customer_acquisition). The dashboards filter it by signup_month.

with customer_acquisition as (
    select
        tenant_id,
        signup_month,
        new_customers,
        new_customers_growth,
        cumulative_customers
    from gold.customer_acquisition
),

final as (
    select
        signup_month,
        new_customers,
        new_customers_growth,
        cumulative_customers
    from customer_acquisition
)

select * from final
order by signup_month
