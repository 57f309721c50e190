-- Cohort retention: customers grouped by signup month; for each later month, how many of them
-- placed an order (not cancelled) in it, and the share of the cohort that is.

with customers as (
    select
        tenant_id,
        id as customer_id,
        cast(date_trunc('month', created_at) as date) as cohort_month
    from silver.customers
),

cohort_sizes as (
    select
        tenant_id,
        cohort_month,
        count(*) as cohort_customers
    from customers
    group by tenant_id, cohort_month
),

order_months as (
    select distinct
        tenant_id,
        customer_id,
        cast(date_trunc('month', placed_at) as date) as activity_month
    from silver.orders
    where status <> 'cancelled'
),

activity as (
    select
        customers.tenant_id,
        customers.cohort_month,
        date_diff('month', customers.cohort_month, order_months.activity_month) as months_since_signup,
        customers.customer_id
    from customers
    inner join order_months
        on order_months.tenant_id = customers.tenant_id
        and order_months.customer_id = customers.customer_id
    where order_months.activity_month >= customers.cohort_month
),

retained as (
    select
        tenant_id,
        cohort_month,
        months_since_signup,
        count(distinct customer_id) as retained_customers
    from activity
    group by tenant_id, cohort_month, months_since_signup
),

tenants as (
    select id as tenant_id, slug as tenant_slug
    from silver.tenants
),

final as (
    select
        tenants.tenant_slug,
        retained.cohort_month,
        retained.months_since_signup,
        cohort_sizes.cohort_customers,
        retained.retained_customers,
        round(cast(retained.retained_customers as double) / cohort_sizes.cohort_customers, 4)
            as retention_rate
    from retained
    inner join cohort_sizes
        on cohort_sizes.tenant_id = retained.tenant_id
        and cohort_sizes.cohort_month = retained.cohort_month
    inner join tenants on tenants.tenant_id = retained.tenant_id
)

select
    tenant_slug,
    cohort_month,
    months_since_signup,
    cohort_customers,
    retained_customers,
    retention_rate
from final
order by tenant_slug, cohort_month, months_since_signup;
