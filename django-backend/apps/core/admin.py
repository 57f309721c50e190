"""The Django admin: a tenant's staff see only their tenant; platform staff see all, read-only.

Who gets in (:class:`TenantAdminSite`): an active staff user who is either platform staff
(superuser, or granted ``core.view_all_tenants``) or an ``admin`` member of the request's
tenant. What they see is what the request's database transaction shows (the middleware set the
tenant, or read-all for platform staff) and the tenant-scoped managers; the permissions below
only decide which buttons exist. Tenant admins may view and edit their tenant's rows (never
its plan or status); platform staff without a selected tenant may only view, because the
database grants read-all for SELECT only. Users and groups are platform staff's alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group, User
from django.http import HttpRequest

from apps.core.adminsite import is_tenant_admin
from apps.core.models import (
    Customer,
    Event,
    Invoice,
    Membership,
    Order,
    OrderItem,
    Product,
    Subscription,
    Tenant,
)
from apps.core.tenancy import is_platform_staff

# django-stubs makes the admin classes generic over their model; at run time they are not
# subscriptable, so the parameterised bases exist for the type checker only.
if TYPE_CHECKING:
    ModelAdmin = admin.ModelAdmin[Any]
    TabularInline = admin.TabularInline[Any, Any]
    PlatformUserBase = UserAdmin[User]
else:
    ModelAdmin = admin.ModelAdmin
    TabularInline = admin.TabularInline
    PlatformUserBase = UserAdmin


class TenantScopedPermissions:
    """View for tenant admins and platform staff; change only inside one tenant."""

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_tenant_admin(request) or is_platform_staff(request.user)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if getattr(request, "tenant", None) is None:
            return False
        return is_tenant_admin(request) or is_platform_staff(request.user)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request)


class PlatformOnly:
    """Users and groups span tenants: platform staff only."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return is_platform_staff(request.user) and super().has_module_permission(request)  # type: ignore[misc]

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_platform_staff(request.user) and super().has_view_permission(request, obj)  # type: ignore[misc]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_platform_staff(request.user) and super().has_change_permission(request, obj)  # type: ignore[misc]

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return is_platform_staff(request.user) and super().has_add_permission(request, *args)  # type: ignore[misc]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_platform_staff(request.user) and super().has_delete_permission(request, obj)  # type: ignore[misc]


class PlatformUserAdmin(PlatformOnly, PlatformUserBase):
    pass


class PlatformGroupAdmin(PlatformOnly, GroupAdmin):
    pass


for _model in (User, Group):
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)
admin.site.register(User, PlatformUserAdmin)
admin.site.register(Group, PlatformGroupAdmin)


@admin.register(Tenant)
class TenantAdmin(TenantScopedPermissions, ModelAdmin):
    list_display = ("name", "slug", "plan", "country", "is_active", "created_at")
    list_filter = ("plan", "is_active")
    search_fields = ("name", "slug")
    # The database refuses these too (trigger tenants_guard_plan_status).
    readonly_fields = ("id", "slug", "plan", "is_active", "created_at", "updated_at")


@admin.register(Membership)
class MembershipAdmin(TenantScopedPermissions, ModelAdmin):
    list_display = ("user", "tenant", "role", "created_at")
    list_filter = ("role",)
    raw_id_fields = ("user",)
    readonly_fields = ("user", "tenant", "created_at")


class TenantOwnedAdmin(TenantScopedPermissions, ModelAdmin):
    """Tenant-owned rows: filter by tenant, show references as ids (tables are large)."""

    readonly_fields: ClassVar[tuple[str, ...]] = ("id", "tenant")

    list_select_related = ("tenant",)
    list_filter: ClassVar[tuple[str, ...]] = ("tenant",)
    raw_id_fields: ClassVar[tuple[str, ...]] = ()
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


class OrderItemInline(TenantScopedPermissions, TabularInline):
    model = OrderItem
    fk_name = "order"
    raw_id_fields = ("product",)
    readonly_fields = ("id", "tenant")
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
