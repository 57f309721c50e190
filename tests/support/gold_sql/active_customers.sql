-- active_customers answered directly in PostgreSQL.
with activity as (
    select distinct
        tenant_id,
        customer_id,
        (occurred_at at time zone 'utc')::date as activity_date
    from events
    where customer_id is not null
),

daily as (
    select
        tenant_id,
        activity_date,
        date_trunc('month', activity_date)::date as activity_month,
        count(*) as daily_active_customers
    from activity
    group by 1, 2
),

monthly as (
    select
        tenant_id,
        date_trunc('month', activity_date)::date as activity_month,
        count(distinct customer_id) as monthly_active_customers
    from activity
    group by 1, 2
)

select
    d.tenant_id::text as tenant_id,
    d.activity_date,
    d.activity_month,
    d.daily_active_customers,
    m.monthly_active_customers,
    round(d.daily_active_customers::numeric / m.monthly_active_customers, 4)
        as daily_to_monthly_ratio
from daily as d
inner join monthly as m on m.tenant_id = d.tenant_id and m.activity_month = d.activity_month
