-- Customer acquisition: new customers per tenant and signup month, the previous month's and the
-- growth between them, and the running total of customers.
-- From gold.customer_acquisition (glue-scripts/README.md "Definitions": signup / acquisition,
-- growth); silver is joined only for the tenant's slug.

with customer_acquisition as (
    select
        tenant_id,
        signup_month,
        new_customers,
        previous_month_new_customers,
        new_customers_growth,
        cumulative_customers
    from gold.customer_acquisition
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
        customer_acquisition.signup_month,
        customer_acquisition.new_customers,
        customer_acquisition.previous_month_new_customers,
        customer_acquisition.new_customers_growth,
        customer_acquisition.cumulative_customers
    from customer_acquisition
    inner join tenants on tenants.tenant_id = customer_acquisition.tenant_id
)

select
    tenant_slug,
    signup_month,
    new_customers,
    previous_month_new_customers,
    new_customers_growth,
    cumulative_customers
from final
order by tenant_slug, signup_month;
