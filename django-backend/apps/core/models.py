"""The eight source entities, field for field as declared in
``glue-scripts/lakehouse_glue/declarations/entities.json`` (a test compares them).

Field order is column order: the replicator writes columns in PostgreSQL ordinal order, so the
fields below are listed exactly in the declared order. Text is ``TextField`` (PostgreSQL
``text``), money ``DecimalField(12, 2)``, times ``DateTimeField`` (``timestamptz``, UTC).

References between tenant-owned rows use ``db_constraint=False`` here because the real
constraint is a composite foreign key ``(tenant_id, x_id) -> parent (tenant_id, id)`` that
Django cannot express; migration 0002 creates those, so the database itself rejects a
reference to another tenant's row. Each parent has ``UNIQUE (tenant_id, id)`` as their target.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Now

from apps.core.tenancy import TenantManager

ORDER_STATUSES = ("pending", "paid", "shipped", "completed", "cancelled", "refunded")
TENANT_PLANS = ("free", "starter", "growth", "enterprise")
CUSTOMER_STATUSES = ("active", "inactive", "churned")
SUBSCRIPTION_PLANS = ("basic", "standard", "premium", "enterprise")
SUBSCRIPTION_STATUSES = ("trialing", "active", "past_due", "cancelled")
INVOICE_STATUSES = ("issued", "paid", "overdue", "void")
EVENT_TYPES = (
    "page_view",
    "product_view",
    "add_to_cart",
    "checkout_started",
    "purchase",
    "signup",
    "login",
    "search",
)


def _choices(values: tuple[str, ...]) -> list[tuple[str, str]]:
    return [(v, v.replace("_", " ")) for v in values]


def _created_at() -> models.DateTimeField[Any, Any]:
    return models.DateTimeField(db_default=Now())


def _updated_at() -> models.DateTimeField[Any, Any]:
    return models.DateTimeField(db_default=Now())


def _money(**kwargs: Any) -> models.DecimalField[Any, Any]:
    return models.DecimalField(max_digits=12, decimal_places=2, **kwargs)


def _tenant_fk() -> models.ForeignKey[Any, Any]:
    # Indexed through the composite indexes that start with tenant_id, not on its own.
    return models.ForeignKey(
        "core.Tenant",
        on_delete=models.CASCADE,
        db_column="tenant_id",
        db_index=False,
        related_name="+",
    )


def _ref(model: str, *, null: bool = False) -> models.ForeignKey[Any, Any]:
    return models.ForeignKey(
        model,
        on_delete=models.CASCADE,
        null=null,
        blank=null,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )


def _in(field: str, values: tuple[str, ...], name: str) -> models.CheckConstraint:
    return models.CheckConstraint(condition=Q(**{f"{field}__in": values}), name=name)


def _non_negative(table: str, *fields: str) -> list[models.CheckConstraint]:
    return [
        models.CheckConstraint(
            condition=Q(**{f"{f}__gte": 0}) | Q(**{f"{f}__isnull": True}),
            name=f"{table}_{f}_non_negative",
        )
        for f in fields
    ]


def _tenant_key(table: str) -> models.UniqueConstraint:
    """``UNIQUE (tenant_id, id)``: the target of the same-tenant composite foreign keys."""
    return models.UniqueConstraint(fields=["tenant", "id"], name=f"{table}_tenant_id_id_key")


class Tenant(models.Model):
    id = models.UUIDField(primary_key=True)
    name = models.TextField()
    slug = models.TextField(unique=True)
    plan = models.TextField(choices=_choices(TENANT_PLANS))
    country = models.TextField()
    is_active = models.BooleanField()
    settings = models.JSONField()
    created_at = _created_at()
    updated_at = _updated_at()

    objects = TenantManager()

    class Meta:
        db_table = "tenants"
        ordering = ["name"]
        constraints = [_in("plan", TENANT_PLANS, "tenants_plan_valid")]

    def __str__(self) -> str:
        return self.name


class Customer(models.Model):
    id = models.UUIDField(primary_key=True)
    tenant = _tenant_fk()
    email = models.TextField()
    first_name = models.TextField()
    last_name = models.TextField()
    company = models.TextField(null=True, blank=True)
    phone = models.TextField(null=True, blank=True)
    country = models.TextField()
    city = models.TextField(null=True, blank=True)
    notes = models.TextField(null=True, blank=True)
    status = models.TextField(choices=_choices(CUSTOMER_STATUSES))
    is_marketing_opt_in = models.BooleanField()
    created_at = _created_at()
    updated_at = _updated_at()

    objects = TenantManager()

    class Meta:
        db_table = "customers"
        ordering = ["last_name", "first_name"]
        constraints = [
            _tenant_key("customers"),
            models.UniqueConstraint(fields=["tenant", "email"], name="customers_tenant_email_key"),
            _in("status", CUSTOMER_STATUSES, "customers_status_valid"),
        ]
        indexes = [models.Index(fields=["tenant", "created_at"], name="customers_tenant_created")]

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name} <{self.email}>"


class Product(models.Model):
    id = models.UUIDField(primary_key=True)
    tenant = _tenant_fk()
    sku = models.TextField()
    name = models.TextField()
    description = models.TextField(null=True, blank=True)
    category = models.TextField()
    price = _money()
    cost = _money(null=True, blank=True)
    currency = models.TextField()
    is_active = models.BooleanField()
    attributes = models.JSONField()
    created_at = _created_at()
    updated_at = _updated_at()

    objects = TenantManager()

    class Meta:
        db_table = "products"
        ordering = ["name"]
        constraints = [
            _tenant_key("products"),
            models.UniqueConstraint(fields=["tenant", "sku"], name="products_tenant_sku_key"),
            *_non_negative("products", "price", "cost"),
        ]
        indexes = [models.Index(fields=["tenant", "category"], name="products_tenant_category")]

    def __str__(self) -> str:
        return f"{self.sku} {self.name}"


class Order(models.Model):
    id = models.UUIDField(primary_key=True)
    tenant = _tenant_fk()
    customer = _ref("core.Customer")
    order_number = models.TextField()
    status = models.TextField(choices=_choices(ORDER_STATUSES))
    currency = models.TextField()
    subtotal = _money()
    discount = _money()
    tax = _money()
    shipping = _money()
    total = _money()
    notes = models.TextField(null=True, blank=True)
    shipping_address = models.JSONField(null=True, blank=True)
    placed_at = models.DateTimeField()
    paid_at = models.DateTimeField(null=True, blank=True)
    shipped_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    refunded_at = models.DateTimeField(null=True, blank=True)
    created_at = _created_at()
    updated_at = _updated_at()

    objects = TenantManager()

    class Meta:
        db_table = "orders"
        ordering = ["-placed_at"]
        constraints = [
            _tenant_key("orders"),
            models.UniqueConstraint(
                fields=["tenant", "order_number"], name="orders_tenant_number_key"
            ),
            _in("status", ORDER_STATUSES, "orders_status_valid"),
            *_non_negative("orders", "subtotal", "discount", "tax", "shipping", "total"),
            models.CheckConstraint(
                condition=Q(total=F("subtotal") - F("discount") + F("tax") + F("shipping")),
                name="orders_total_adds_up",
            ),
            # Each status carries the timestamps of the steps that led to it.
            models.CheckConstraint(
                condition=Q(paid_at__isnull=False) | Q(status__in=("pending", "cancelled")),
                name="orders_paid_at_when_paid",
            ),
            models.CheckConstraint(
                condition=Q(shipped_at__isnull=False)
                | Q(status__in=("pending", "paid", "cancelled", "refunded")),
                name="orders_shipped_at_when_shipped",
            ),
            models.CheckConstraint(
                condition=Q(completed_at__isnull=False) | ~Q(status="completed"),
                name="orders_completed_at_when_completed",
            ),
            models.CheckConstraint(
                condition=Q(cancelled_at__isnull=False, status="cancelled")
                | Q(cancelled_at__isnull=True) & ~Q(status="cancelled"),
                name="orders_cancelled_at_iff_cancelled",
            ),
            models.CheckConstraint(
                condition=Q(refunded_at__isnull=False, status="refunded")
                | Q(refunded_at__isnull=True) & ~Q(status="refunded"),
                name="orders_refunded_at_iff_refunded",
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "customer"], name="orders_tenant_customer"),
            models.Index(fields=["tenant", "placed_at"], name="orders_tenant_placed"),
            models.Index(fields=["tenant", "status"], name="orders_tenant_status"),
        ]

    def __str__(self) -> str:
        return self.order_number


class OrderItem(models.Model):
    id = models.UUIDField(primary_key=True)
    tenant = _tenant_fk()
    order = _ref("core.Order")
    product = _ref("core.Product")
    quantity = models.IntegerField()
    unit_price = _money()
    discount = _money()
    line_total = _money()
    created_at = _created_at()
    updated_at = _updated_at()

    objects = TenantManager()

    class Meta:
        db_table = "order_items"
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gte=0), name="order_items_quantity_non_negative"
            ),
            *_non_negative("order_items", "unit_price", "discount", "line_total"),
            models.CheckConstraint(
                condition=Q(line_total=F("quantity") * F("unit_price") - F("discount")),
                name="order_items_line_total_adds_up",
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "order"], name="order_items_tenant_order"),
            models.Index(fields=["tenant", "product"], name="order_items_tenant_product"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.product_id}"


class Subscription(models.Model):
    id = models.UUIDField(primary_key=True)
    tenant = _tenant_fk()
    customer = _ref("core.Customer")
    plan = models.TextField(choices=_choices(SUBSCRIPTION_PLANS))
    status = models.TextField(choices=_choices(SUBSCRIPTION_STATUSES))
    monthly_amount = _money()
    currency = models.TextField()
    started_at = models.DateTimeField()
    trial_ends_at = models.DateTimeField(null=True, blank=True)
    current_period_end = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    created_at = _created_at()
    updated_at = _updated_at()

    objects = TenantManager()

    class Meta:
        db_table = "subscriptions"
        constraints = [
            _tenant_key("subscriptions"),
            _in("plan", SUBSCRIPTION_PLANS, "subscriptions_plan_valid"),
            _in("status", SUBSCRIPTION_STATUSES, "subscriptions_status_valid"),
            *_non_negative("subscriptions", "monthly_amount"),
            models.CheckConstraint(
                condition=Q(cancelled_at__isnull=False, status="cancelled")
                | Q(cancelled_at__isnull=True) & ~Q(status="cancelled"),
                name="subscriptions_cancelled_at_iff_cancelled",
            ),
            models.CheckConstraint(
                condition=Q(trial_ends_at__isnull=False) | ~Q(status="trialing"),
                name="subscriptions_trial_ends_when_trialing",
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "customer"], name="subscriptions_tenant_customer"),
            models.Index(fields=["tenant", "status"], name="subscriptions_tenant_status"),
        ]

    def __str__(self) -> str:
        return f"{self.plan} ({self.status})"


class Invoice(models.Model):
    id = models.UUIDField(primary_key=True)
    tenant = _tenant_fk()
    customer = _ref("core.Customer")
    subscription = _ref("core.Subscription", null=True)
    order = _ref("core.Order", null=True)
    invoice_number = models.TextField()
    status = models.TextField(choices=_choices(INVOICE_STATUSES))
    amount = _money()
    currency = models.TextField()
    issued_at = models.DateTimeField()
    due_at = models.DateTimeField()
    paid_at = models.DateTimeField(null=True, blank=True)
    created_at = _created_at()
    updated_at = _updated_at()

    objects = TenantManager()

    class Meta:
        db_table = "invoices"
        ordering = ["-issued_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "invoice_number"], name="invoices_tenant_number_key"
            ),
            _in("status", INVOICE_STATUSES, "invoices_status_valid"),
            *_non_negative("invoices", "amount"),
            models.CheckConstraint(
                condition=Q(subscription__isnull=False, order__isnull=True)
                | Q(subscription__isnull=True, order__isnull=False),
                name="invoices_subscription_xor_order",
            ),
            models.CheckConstraint(
                condition=Q(paid_at__isnull=False, status="paid")
                | Q(paid_at__isnull=True) & ~Q(status="paid"),
                name="invoices_paid_at_iff_paid",
            ),
            models.CheckConstraint(
                condition=Q(due_at__gte=F("issued_at")), name="invoices_due_after_issue"
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "customer"], name="invoices_tenant_customer"),
            models.Index(fields=["tenant", "subscription"], name="invoices_tenant_subscription"),
            models.Index(fields=["tenant", "order"], name="invoices_tenant_order"),
            models.Index(fields=["tenant", "status", "due_at"], name="invoices_tenant_status_due"),
        ]

    def __str__(self) -> str:
        return self.invoice_number


class Event(models.Model):
    id = models.UUIDField(primary_key=True)
    tenant = _tenant_fk()
    customer = _ref("core.Customer", null=True)
    session_id = models.TextField(null=True, blank=True)
    event_type = models.TextField(choices=_choices(EVENT_TYPES))
    properties = models.JSONField()
    occurred_at = models.DateTimeField()
    created_at = _created_at()
    updated_at = _updated_at()

    objects = TenantManager()

    class Meta:
        db_table = "events"
        ordering = ["-occurred_at"]
        constraints = [_in("event_type", EVENT_TYPES, "events_event_type_valid")]
        indexes = [
            models.Index(fields=["tenant", "occurred_at"], name="events_tenant_occurred"),
            models.Index(fields=["tenant", "customer"], name="events_tenant_customer"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} at {self.occurred_at:%Y-%m-%d %H:%M:%S}"


# -- app-side tables -----------------------------------------------------------------------------
# Not business entities: not in entities.json, not in the publication, never replicated.


class Membership(models.Model):
    """A user's access to one tenant, with a role in it.

    A request's tenant is always one of the authenticated user's memberships
    (:class:`apps.core.tenancy.TenantMiddleware`); a header or subdomain only selects among
    them. Platform staff (superusers, or users with ``core.view_all_tenants``) see every tenant
    read-only, explicitly, without a membership.
    """

    class Role(models.TextChoices):
        VIEWER = "viewer", "viewer"
        ADMIN = "admin", "admin"

    id = models.BigAutoField(primary_key=True)
    user = models.ForeignKey(
        "auth.User", on_delete=models.CASCADE, related_name="memberships", db_index=False
    )
    tenant = _tenant_fk()
    role = models.TextField(choices=Role.choices, default=Role.VIEWER)
    created_at = _created_at()

    objects = TenantManager()

    class Meta:
        db_table = "memberships"
        ordering = ["tenant", "user"]
        constraints = [
            models.UniqueConstraint(fields=["user", "tenant"], name="memberships_user_tenant_key"),
            _in("role", ("viewer", "admin"), "memberships_role_valid"),
        ]
        indexes = [models.Index(fields=["tenant", "user"], name="memberships_tenant_user")]
        permissions = [("view_all_tenants", "Can see every tenant, read-only (platform staff)")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.role} of {self.tenant_id}"
