-- Cohort retention: customers grouped by signup month; for each month since signup, how many of
-- them made a purchase in it and the share of the cohort that is.
-- From gold.cohort_retention (glue-scripts/README.md "Definitions": purchase and retention);
-- silver is joined only for the tenant's slug.

with cohort_retention as (
    select
        tenant_id,
        cohort_month,
        months_since_signup,
        activity_month,
        cohort_customers,
        retained_customers,
        retention_rate
    from gold.cohort_retention
),

tenants as (
    select
        id as tenant_id,
        slug as tenant_slug
    from silver.tenants
),

final as (
    select
        tenants.tenant_slug,
        cohort_retention.cohort_month,
        cohort_retention.months_since_signup,
        cohort_retention.activity_month,
        cohort_retention.cohort_customers,
        cohort_retention.retained_customers,
        cohort_retention.retention_rate
    from cohort_retention
    inner join tenants on tenants.tenant_id = cohort_retention.tenant_id
)

select
    tenant_slug,
    cohort_month,
    months_since_signup,
    activity_month,
    cohort_customers,
    retained_customers,
    retention_rate
from final
order by tenant_slug, cohort_month, months_since_signup;
