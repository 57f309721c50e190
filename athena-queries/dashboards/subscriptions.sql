-- Subscriptions: monthly recurring revenue, its movements and churn
-- (gold.subscription_metrics). The dashboards filter it by subscription_month.

with subscription_metrics as (
    select
        tenant_id,
        subscription_month,
        mrr,
        active_subscriptions,
        paying_customers,
        new_mrr,
        expansion_mrr,
        contraction_mrr,
        churned_mrr,
        net_new_mrr,
        customer_churn_rate,
        gross_mrr_churn_rate
    from gold.subscription_metrics
),

final as (
    select
        subscription_month,
        mrr,
        active_subscriptions,
        paying_customers,
        new_mrr,
        expansion_mrr,
        contraction_mrr,
        churned_mrr,
        net_new_mrr,
        customer_churn_rate,
        gross_mrr_churn_rate
    from subscription_metrics
)

select * from final
order by subscription_month
