-- Cohort retention: the share of each signup cohort active N months later
-- (gold.cohort_retention), for a heatmap of cohort month by months since signup.
-- The dashboards filter it by cohort_month.

with cohort_retention as (
    select
        tenant_id,
        cohort_month,
        months_since_signup,
        cohort_customers,
        retained_customers,
        retention_rate
    from gold.cohort_retention
),

final as (
    select
        cohort_month,
        months_since_signup,
        cohort_customers,
        retained_customers,
        retention_rate
    from cohort_retention
)

select * from final
order by cohort_month, months_since_signup
