-- customer_acquisition answered directly in PostgreSQL.
with monthly as (
    select
        tenant_id,
        date_trunc('month', created_at at time zone 'utc')::date as signup_month,
        count(*) as new_customers
    from customers
    group by 1, 2
),

calendar as (
    select
        tenant_id,
        generate_series(min(signup_month), max(signup_month), interval '1 month')::date
            as signup_month
    from monthly
    group by tenant_id
),

filled as (
    select
        c.tenant_id,
        c.signup_month,
        coalesce(m.new_customers, 0) as new_customers
    from calendar as c
    left join monthly as m on m.tenant_id = c.tenant_id and m.signup_month = c.signup_month
),

with_previous as (
    select
        *,
        lag(new_customers) over (partition by tenant_id order by signup_month)
            as previous_month_new_customers,
        sum(new_customers) over (partition by tenant_id order by signup_month)
            as cumulative_customers
    from filled
)

select
    tenant_id::text as tenant_id,
    signup_month,
    new_customers,
    previous_month_new_customers,
    case
        when previous_month_new_customers > 0
            then round(
                (new_customers - previous_month_new_customers)::numeric
                / previous_month_new_customers,
                4
            )
    end as new_customers_growth,
    cumulative_customers::bigint as cumulative_customers
from with_previous
