-- Bronze exploration: the raw DMS files as they landed (every column is a string).
-- NULL is written as the marker '<NULL>' (csv_null_value in bronze_contract.json): Athena's
-- OpenCSVSerde shows it as that text, the local engine as NULL; query 3 counts both ways.

-- 1. How many changes of each kind landed per table.
with changes as (
    select 'tenants' as table_name, op as change_op from bronze.tenants
    union all
    select 'customers' as table_name, op as change_op from bronze.customers
    union all
    select 'products' as table_name, op as change_op from bronze.products
    union all
    select 'orders' as table_name, op as change_op from bronze.orders
    union all
    select 'order_items' as table_name, op as change_op from bronze.order_items
    union all
    select 'subscriptions' as table_name, op as change_op from bronze.subscriptions
    union all
    select 'invoices' as table_name, op as change_op from bronze.invoices
    union all
    select 'events' as table_name, op as change_op from bronze.events
),

counted as (
    select
        table_name,
        sum(case when change_op = 'I' then 1 else 0 end) as inserts,
        sum(case when change_op = 'U' then 1 else 0 end) as updates,
        sum(case when change_op = 'D' then 1 else 0 end) as deletes,
        count(*) as changes
    from changes
    group by table_name
)

select
    table_name,
    inserts,
    updates,
    deletes,
    changes
from counted
order by table_name;

-- 2. The latest changes to orders, newest first, in change order.
with order_changes as (
    select
        op as change_op,
        dms_timestamp as committed_at,
        dms_change_seq as change_seq,
        id as order_id,
        tenant_id,
        status as order_status,
        total as order_total
    from bronze.orders
)

select
    change_op,
    committed_at,
    change_seq,
    order_id,
    tenant_id,
    order_status,
    order_total
from order_changes
order by change_seq desc, committed_at desc
limit 20;

-- 3. NULL versus empty string in optional customer columns.
with customer_rows as (
    select
        company,
        phone,
        notes
    from bronze.customers
)

select
    sum(case when company is null or company = '<NULL>' then 1 else 0 end) as company_null,
    sum(case when company = '' then 1 else 0 end) as company_empty,
    sum(case when phone is null or phone = '<NULL>' then 1 else 0 end) as phone_null,
    sum(case when phone = '' then 1 else 0 end) as phone_empty,
    sum(case when notes is null or notes = '<NULL>' then 1 else 0 end) as notes_null,
    sum(case when notes = '' then 1 else 0 end) as notes_empty,
    count(*) as customer_rows
from customer_rows;
