-- cohort_retention answered directly in PostgreSQL.
with members as (
    select
        tenant_id,
        id as customer_id,
        date_trunc('month', created_at at time zone 'utc')::date as cohort_month
    from customers
),

purchases as (
    select distinct
        tenant_id,
        customer_id,
        date_trunc('month', paid_at at time zone 'utc')::date as activity_month
    from orders
    where paid_at is not null
),

last_month as (
    select tenant_id, max(m) as last_month
    from (
        select tenant_id, cohort_month as m from members
        union all
        select tenant_id, activity_month from purchases
    ) as months
    group by tenant_id
),

cohorts as (
    select tenant_id, cohort_month, count(*) as cohort_customers
    from members
    group by 1, 2
),

calendar as (
    select c.tenant_id, c.cohort_month, c.cohort_customers, k as months_since_signup
    from cohorts as c
    inner join last_month as l on l.tenant_id = c.tenant_id
    cross join lateral generate_series(
        0,
        ((extract(year from l.last_month) - extract(year from c.cohort_month)) * 12
        + extract(month from l.last_month) - extract(month from c.cohort_month))::int
    ) as k
),

retained as (
    select
        m.tenant_id,
        m.cohort_month,
        ((extract(year from p.activity_month) - extract(year from m.cohort_month)) * 12
        + extract(month from p.activity_month) - extract(month from m.cohort_month))::int
            as months_since_signup,
        count(*) as retained_customers
    from members as m
    inner join purchases as p on p.tenant_id = m.tenant_id and p.customer_id = m.customer_id
    where p.activity_month >= m.cohort_month
    group by 1, 2, 3
)

select
    c.tenant_id::text as tenant_id,
    c.cohort_month,
    c.months_since_signup,
    (c.cohort_month + make_interval(months => c.months_since_signup))::date as activity_month,
    c.cohort_customers,
    coalesce(r.retained_customers, 0) as retained_customers,
    round(coalesce(r.retained_customers, 0)::numeric / c.cohort_customers, 4) as retention_rate
from calendar as c
left join retained as r
    on
        r.tenant_id = c.tenant_id
        and r.cohort_month = c.cohort_month
        and r.months_since_signup = c.months_since_signup
