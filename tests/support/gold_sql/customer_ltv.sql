-- customer_ltv answered directly in PostgreSQL (Definitions: lifetime value, RFM).
with per_customer as (
    select
        tenant_id,
        customer_id,
        count(*) filter (where paid_at is not null) as orders,
        coalesce(sum(total) filter (where paid_at is not null), 0) as gross_revenue,
        coalesce(sum(total) filter (
            where paid_at is not null and coalesce(refunded_at, cancelled_at) is not null
        ), 0) as refunds,
        min(paid_at) as first_order_at,
        max(paid_at) as last_order_at
    from orders
    group by 1, 2
),

as_of as (
    select tenant_id, max((paid_at at time zone 'utc')::date) as as_of_date
    from orders
    where paid_at is not null
    group by 1
),

base as (
    select
        c.tenant_id,
        c.id as customer_id,
        c.created_at as signup_at,
        p.first_order_at,
        p.last_order_at,
        coalesce(p.orders, 0) as orders,
        coalesce(p.gross_revenue, 0) as gross_revenue,
        coalesce(p.refunds, 0) as refunds,
        coalesce(p.gross_revenue, 0) - coalesce(p.refunds, 0) as lifetime_value,
        a.as_of_date,
        a.as_of_date - (p.last_order_at at time zone 'utc')::date as recency_days,
        coalesce(p.orders, 0) > 0 as is_payer
    from customers as c
    left join per_customer as p on p.tenant_id = c.tenant_id and p.customer_id = c.id
    left join as_of as a on a.tenant_id = c.tenant_id
),

ranked as (
    select
        *,
        count(*) over (partition by tenant_id, is_payer) as n,
        count(*) over (partition by tenant_id, is_payer order by recency_days desc) as r_k,
        count(*) over (partition by tenant_id, is_payer order by orders) as f_k,
        count(*) over (partition by tenant_id, is_payer order by lifetime_value) as m_k
    from base
),

scored as (
    select
        *,
        case when is_payer then ((5 * r_k + n - 1) / n)::int end as recency_score,
        case when is_payer then ((5 * f_k + n - 1) / n)::int end as frequency_score,
        case when is_payer then ((5 * m_k + n - 1) / n)::int end as monetary_score
    from ranked
)

select
    tenant_id::text as tenant_id,
    customer_id::text as customer_id,
    signup_at,
    first_order_at,
    last_order_at,
    orders,
    gross_revenue,
    refunds,
    lifetime_value,
    round(gross_revenue / nullif(orders, 0), 2) as average_order_value,
    as_of_date,
    recency_days,
    recency_score,
    frequency_score,
    monetary_score,
    case
        when recency_score is null then 'no_purchases'
        when recency_score >= 4 and frequency_score >= 4 and monetary_score >= 4 then 'champions'
        when recency_score >= 3 and frequency_score >= 3 then 'loyal'
        when recency_score >= 4 and frequency_score <= 2 then 'new'
        when recency_score <= 2 and frequency_score >= 3 then 'at_risk'
        when recency_score <= 2 and frequency_score <= 2 then 'hibernating'
        else 'needs_attention'
    end as rfm_segment
from scored
