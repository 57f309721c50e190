-- Data-quality checks on silver. Each check counts the rows that break one rule; a healthy lake
-- returns 0 for every check. The Glue jobs quarantine rows that break row rules before silver,
-- so a non-zero count here points at a cross-row or cross-table problem.

-- 1. Every check in one table: check name, the rule, failing rows.
with duplicate_orders as (
    select id
    from silver.orders
    group by id
    having count(*) > 1
),

duplicate_customers as (
    select id
    from silver.customers
    group by id
    having count(*) > 1
),

order_total_mismatch as (
    select id
    from silver.orders
    where total <> subtotal - discount + tax + shipping
),

item_total_mismatch as (
    select id
    from silver.order_items
    where line_total <> quantity * unit_price - discount
),

item_sums as (
    select tenant_id, order_id, sum(line_total) as items_total
    from silver.order_items
    group by tenant_id, order_id
),

order_subtotal_mismatch as (
    select orders.id
    from silver.orders as orders
    left join item_sums
        on item_sums.tenant_id = orders.tenant_id
        and item_sums.order_id = orders.id
    where orders.status <> 'cancelled'
        and orders.subtotal <> coalesce(item_sums.items_total, 0)
),

orphan_orders as (
    select orders.id
    from silver.orders as orders
    left join silver.customers as customers
        on customers.tenant_id = orders.tenant_id
        and customers.id = orders.customer_id
    where customers.id is null
),

orphan_items as (
    select order_items.id
    from silver.order_items as order_items
    left join silver.products as products
        on products.tenant_id = order_items.tenant_id
        and products.id = order_items.product_id
    where products.id is null
),

invoice_parent as (
    select id
    from silver.invoices
    where (subscription_id is null and order_id is null)
        or (subscription_id is not null and order_id is not null)
),

bad_order_status as (
    select id
    from silver.orders
    where status not in ('pending', 'paid', 'shipped', 'completed', 'cancelled', 'refunded')
),

negative_money as (
    select id
    from silver.orders
    where subtotal < 0 or discount < 0 or tax < 0 or shipping < 0 or total < 0
),

checks as (
    select 'orders_unique_id' as check_name, 'orders.id is unique' as rule, count(*) as failing_rows
    from duplicate_orders
    union all
    select 'customers_unique_id' as check_name, 'customers.id is unique' as rule, count(*) as failing_rows
    from duplicate_customers
    union all
    select 'orders_total' as check_name, 'total = subtotal - discount + tax + shipping' as rule, count(*) as failing_rows
    from order_total_mismatch
    union all
    select 'order_items_line_total' as check_name, 'line_total = quantity * unit_price - discount' as rule, count(*) as failing_rows
    from item_total_mismatch
    union all
    select 'orders_subtotal' as check_name, 'subtotal = sum of line_total (not cancelled)' as rule, count(*) as failing_rows
    from order_subtotal_mismatch
    union all
    select 'orders_customer_exists' as check_name, 'orders.customer_id in customers (same tenant)' as rule, count(*) as failing_rows
    from orphan_orders
    union all
    select 'order_items_product_exists' as check_name, 'order_items.product_id in products (same tenant)' as rule, count(*) as failing_rows
    from orphan_items
    union all
    select 'invoices_one_parent' as check_name, 'exactly one of subscription_id, order_id' as rule, count(*) as failing_rows
    from invoice_parent
    union all
    select 'orders_status_accepted' as check_name, 'orders.status is an accepted value' as rule, count(*) as failing_rows
    from bad_order_status
    union all
    select 'orders_money_non_negative' as check_name, 'order amounts are not negative' as rule, count(*) as failing_rows
    from negative_money
)

select
    check_name,
    rule,
    failing_rows
from checks
order by check_name;

-- 2. Freshness per table: hours between the newest source commit and the newest processing.
with lineage as (
    select 'tenants' as table_name, source_committed_at, processed_at from silver.tenants
    union all
    select 'customers' as table_name, source_committed_at, processed_at from silver.customers
    union all
    select 'products' as table_name, source_committed_at, processed_at from silver.products
    union all
    select 'orders' as table_name, source_committed_at, processed_at from silver.orders
    union all
    select 'order_items' as table_name, source_committed_at, processed_at from silver.order_items
    union all
    select 'subscriptions' as table_name, source_committed_at, processed_at from silver.subscriptions
    union all
    select 'invoices' as table_name, source_committed_at, processed_at from silver.invoices
    union all
    select 'events' as table_name, source_committed_at, processed_at from silver.events
)

select
    table_name,
    count(*) as table_rows,
    max(source_committed_at) as last_committed_at,
    date_diff('hour', max(source_committed_at), max(processed_at)) as lag_hours
from lineage
group by table_name
order by table_name;
