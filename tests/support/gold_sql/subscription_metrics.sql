-- subscription_metrics answered directly in PostgreSQL (Definitions: MRR, movements, churn).
with subs as (
    select
        tenant_id,
        customer_id,
        monthly_amount,
        cancelled_at,
        greatest(started_at, coalesce(trial_ends_at, started_at)) as paying_from,
        date_trunc('month', started_at at time zone 'utc')::date as start_month,
        date_trunc('month', cancelled_at at time zone 'utc')::date as cancel_month
    from subscriptions
),

bounds as (
    select tenant_id, min(m) as first_month, max(m) as last_month
    from (
        select tenant_id, start_month as m from subs
        union all
        select tenant_id, cancel_month from subs where cancel_month is not null
    ) as months
    group by tenant_id
),

calendar as (
    select
        tenant_id,
        generate_series(first_month, last_month, interval '1 month')::date as subscription_month
    from bounds
),

checked as (
    select
        s.tenant_id,
        s.customer_id,
        c.subscription_month,
        s.monthly_amount,
        s.paying_from < ((c.subscription_month + interval '1 month') at time zone 'utc')
        and (
            s.cancelled_at is null
            or s.cancelled_at >= ((c.subscription_month + interval '1 month') at time zone 'utc')
        ) as is_paying
    from subs as s
    inner join calendar as c on c.tenant_id = s.tenant_id
),

per_customer as (
    select
        tenant_id,
        customer_id,
        subscription_month,
        coalesce(sum(monthly_amount) filter (where is_paying), 0) as mrr,
        count(*) filter (where is_paying) as subscriptions
    from checked
    group by 1, 2, 3
),

movements as (
    select
        *,
        coalesce(
            lag(mrr) over (partition by tenant_id, customer_id order by subscription_month), 0
        ) as previous
    from per_customer
),

monthly as (
    select
        tenant_id,
        subscription_month,
        sum(mrr) as mrr,
        sum(previous) as previous_mrr,
        count(*) filter (where mrr > 0) as paying_customers,
        count(*) filter (where previous > 0) as previous_paying,
        sum(subscriptions) as active_subscriptions,
        coalesce(sum(mrr) filter (where previous = 0 and mrr > 0), 0) as new_mrr,
        coalesce(sum(mrr - previous) filter (where previous > 0 and mrr > previous), 0)
            as expansion_mrr,
        coalesce(sum(previous - mrr) filter (where mrr > 0 and mrr < previous), 0)
            as contraction_mrr,
        coalesce(sum(previous) filter (where previous > 0 and mrr = 0), 0) as churned_mrr,
        count(*) filter (where previous = 0 and mrr > 0) as new_customers,
        count(*) filter (where previous > 0 and mrr = 0) as churned_customers
    from movements
    group by 1, 2
)

select
    tenant_id::text as tenant_id,
    subscription_month,
    mrr,
    previous_mrr,
    paying_customers,
    active_subscriptions::bigint as active_subscriptions,
    new_mrr,
    expansion_mrr,
    contraction_mrr,
    churned_mrr,
    mrr - previous_mrr as net_new_mrr,
    new_customers,
    churned_customers,
    round(churned_customers::numeric / nullif(previous_paying, 0), 4) as customer_churn_rate,
    round((churned_mrr + contraction_mrr) / nullif(previous_mrr, 0), 4) as gross_mrr_churn_rate
from monthly
