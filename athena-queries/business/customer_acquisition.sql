-- Customer acquisition: new customers per tenant and signup month, the running total and the
-- share that opted in to marketing.

with customers as (
    select
        tenant_id,
        cast(date_trunc('month', created_at) as date) as signup_month,
        is_marketing_opt_in
    from silver.customers
),

monthly as (
    select
        tenant_id,
        signup_month,
        count(*) as new_customers,
        sum(case when is_marketing_opt_in then 1 else 0 end) as opted_in_customers
    from customers
    group by tenant_id, signup_month
),

tenants as (
    select id as tenant_id, slug as tenant_slug
    from silver.tenants
),

final as (
    select
        tenants.tenant_slug,
        monthly.signup_month,
        monthly.new_customers,
        monthly.opted_in_customers,
        sum(monthly.new_customers) over (
            partition by monthly.tenant_id
            order by monthly.signup_month
            rows between unbounded preceding and current row
        ) as cumulative_customers
    from monthly
    inner join tenants on tenants.tenant_id = monthly.tenant_id
)

select
    tenant_slug,
    signup_month,
    new_customers,
    opted_in_customers,
    cumulative_customers
from final
order by tenant_slug, signup_month;
