-- invoice_collections answered directly in PostgreSQL (Definitions: paid, overdue, days to pay).
with invoices_typed as (
    select
        *,
        status <> 'void' as is_issued,
        status <> 'void' and paid_at is not null as is_paid,
        status <> 'void' and paid_at is null as is_outstanding,
        (paid_at at time zone 'utc')::date - (issued_at at time zone 'utc')::date as days_to_pay
    from invoices
),

monthly as (
    select
        tenant_id,
        date_trunc('month', issued_at at time zone 'utc')::date as issued_month,
        count(*) filter (where is_issued) as invoices_issued,
        coalesce(sum(amount) filter (where is_issued), 0) as amount_issued,
        count(*) filter (where is_paid) as invoices_paid,
        coalesce(sum(amount) filter (where is_paid), 0) as amount_paid,
        count(*) filter (where is_paid and paid_at > due_at) as invoices_paid_late,
        count(*) filter (where is_outstanding) as invoices_outstanding,
        coalesce(sum(amount) filter (where is_outstanding), 0) as amount_outstanding,
        count(*) filter (where is_outstanding and status = 'overdue') as invoices_overdue,
        coalesce(sum(amount) filter (where is_outstanding and status = 'overdue'), 0)
            as amount_overdue,
        count(*) filter (where status = 'void') as invoices_void,
        sum(days_to_pay) filter (where is_paid) as total_days_to_pay
    from invoices_typed
    group by 1, 2
)

select
    tenant_id::text as tenant_id,
    issued_month,
    invoices_issued,
    amount_issued,
    invoices_paid,
    amount_paid,
    invoices_paid_late,
    invoices_outstanding,
    amount_outstanding,
    invoices_overdue,
    amount_overdue,
    invoices_void,
    round(total_days_to_pay::numeric / nullif(invoices_paid, 0), 2) as average_days_to_pay,
    round(amount_paid / nullif(amount_issued, 0), 4) as collection_rate
from monthly
