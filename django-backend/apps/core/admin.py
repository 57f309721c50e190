"""The Django admin for the eight entities (read-mostly; references shown as raw ids)."""

from __future__ import annotations

from django.contrib import admin

from apps.core.models import (
    Customer,
    Event,
    Invoice,
    Order,
    OrderItem,
    Product,
    Subscription,
    Tenant,
)


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "plan", "country", "is_active", "created_at")
    list_filter = ("plan", "is_active")
    search_fields = ("name", "slug")


class TenantOwnedAdmin(admin.ModelAdmin):
    """Tenant-owned rows: filter by tenant, show references as ids (tables are large)."""

    list_select_related = ("tenant",)
    list_filter: tuple[str, ...] = ("tenant",)
    raw_id_fields: tuple[str, ...] = ()
    list_per_page = 50


@admin.register(Customer)
class CustomerAdmin(TenantOwnedAdmin):
    list_display = ("email", "first_name", "last_name", "company", "country", "status", "tenant")
    list_filter = ("tenant", "status", "is_marketing_opt_in")
    search_fields = ("email", "last_name", "company")


@admin.register(Product)
class ProductAdmin(TenantOwnedAdmin):
    list_display = ("sku", "name", "category", "price", "currency", "is_active", "tenant")
    list_filter = ("tenant", "category", "is_active")
    search_fields = ("sku", "name")


class OrderItemInline(admin.TabularInline):
    model = OrderItem
    fk_name = "order"
    raw_id_fields = ("product", "tenant")
    extra = 0


@admin.register(Order)
class OrderAdmin(TenantOwnedAdmin):
    list_display = ("order_number", "status", "total", "currency", "placed_at", "tenant")
    list_filter = ("tenant", "status")
    search_fields = ("order_number",)
    raw_id_fields = ("customer",)
    date_hierarchy = "placed_at"
    inlines = (OrderItemInline,)


@admin.register(OrderItem)
class OrderItemAdmin(TenantOwnedAdmin):
    list_display = ("order", "product", "quantity", "unit_price", "line_total", "tenant")
    raw_id_fields = ("order", "product")


@admin.register(Subscription)
class SubscriptionAdmin(TenantOwnedAdmin):
    list_display = ("customer", "plan", "status", "monthly_amount", "started_at", "tenant")
    list_filter = ("tenant", "plan", "status")
    raw_id_fields = ("customer",)


@admin.register(Invoice)
class InvoiceAdmin(TenantOwnedAdmin):
    list_display = (
        "invoice_number",
        "status",
        "amount",
        "issued_at",
        "due_at",
        "paid_at",
        "tenant",
    )
    list_filter = ("tenant", "status")
    search_fields = ("invoice_number",)
    raw_id_fields = ("customer", "subscription", "order")


@admin.register(Event)
class EventAdmin(TenantOwnedAdmin):
    list_display = ("event_type", "occurred_at", "customer", "session_id", "tenant")
    list_filter = ("tenant", "event_type")
    raw_id_fields = ("customer",)
    date_hierarchy = "occurred_at"
