-- Silver exploration: typed current state, one folder per tenant.

-- 1. Rows per tenant in the main tables.
with tenants as (
    select
        id as tenant_id,
        slug as tenant_slug
    from silver.tenants
),

customer_counts as (
    select tenant_id, count(*) as customers
    from silver.customers
    group by tenant_id
),

order_counts as (
    select tenant_id, count(*) as orders
    from silver.orders
    group by tenant_id
),

event_counts as (
    select tenant_id, count(*) as events
    from silver.events
    group by tenant_id
),

final as (
    select
        tenants.tenant_slug,
        coalesce(customer_counts.customers, 0) as customers,
        coalesce(order_counts.orders, 0) as orders,
        coalesce(event_counts.events, 0) as events
    from tenants
    left join customer_counts on customer_counts.tenant_id = tenants.tenant_id
    left join order_counts on order_counts.tenant_id = tenants.tenant_id
    left join event_counts on event_counts.tenant_id = tenants.tenant_id
)

select
    tenant_slug,
    customers,
    orders,
    events
from final
order by tenant_slug;

-- 2. Order status mix with money totals (exact decimals).
with orders as (
    select
        status as order_status,
        total as order_total
    from silver.orders
)

select
    order_status,
    count(*) as orders,
    sum(order_total) as total_amount
from orders
group by order_status
order by order_status;

-- 3. Freshness: the latest source commit and processing time per table.
with lineage as (
    select 'customers' as table_name, source_committed_at, processed_at from silver.customers
    union all
    select 'orders' as table_name, source_committed_at, processed_at from silver.orders
    union all
    select 'events' as table_name, source_committed_at, processed_at from silver.events
)

select
    table_name,
    max(source_committed_at) as last_committed_at,
    max(processed_at) as last_processed_at
from lineage
group by table_name
order by table_name;

-- 4. Event types and a property read from the JSON column.
with events as (
    select
        event_type,
        json_extract_scalar(properties, '$.source') as traffic_source
    from silver.events
)

select
    event_type,
    count(*) as events,
    count(traffic_source) as events_with_source
from events
group by event_type
order by event_type;
