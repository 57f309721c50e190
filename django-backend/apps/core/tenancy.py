"""Tenant isolation in the app, with PostgreSQL row-level security as the second line.

The first line is the ORM: :class:`TenantManager` narrows every query of a tenant-owned model
to the tenant that is active in the current context. The second line is the database: inside
:func:`tenant_context` the connection switches to the NOLOGIN tenant role and sets the session
setting that the row-level security policies (created by the migrations) compare
``tenant_id`` with, so even a query that bypasses the manager cannot see another tenant's rows.
"""

from __future__ import annotations

import contextvars
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import connections, models
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest

if TYPE_CHECKING:
    from apps.core.models import Tenant

_current_tenant: contextvars.ContextVar[uuid.UUID | None] = contextvars.ContextVar(
    "current_tenant", default=None
)


def current_tenant_id() -> uuid.UUID | None:
    """The id of the tenant active in this context, or ``None`` outside any tenant."""
    return _current_tenant.get()


class TenantQuerySet(models.QuerySet[Any]):
    """A queryset that can be narrowed to one tenant explicitly."""

    def for_tenant(self, tenant: Tenant | uuid.UUID | str) -> TenantQuerySet:
        tenant_id = getattr(tenant, "pk", tenant)
        field = "pk" if self.model._meta.model_name == "tenant" else "tenant_id"
        return self.filter(**{field: tenant_id})


class TenantManager(models.Manager[Any]):
    """Default manager of tenant-owned models: scoped to the active tenant, if any.

    Outside a tenant context (management commands, the superuser admin) it returns every row;
    inside one it returns only that tenant's rows.
    """

    def get_queryset(self) -> TenantQuerySet:
        qs = TenantQuerySet(self.model, using=self._db)
        tenant_id = current_tenant_id()
        return qs if tenant_id is None else qs.for_tenant(tenant_id)

    def for_tenant(self, tenant: Tenant | uuid.UUID | str) -> TenantQuerySet:
        return TenantQuerySet(self.model, using=self._db).for_tenant(tenant)


@contextmanager
def tenant_context(tenant: Tenant | uuid.UUID | str, *, using: str = "default") -> Iterator[None]:
    """Run a block as one tenant: ORM scoping plus PostgreSQL row-level security.

    The connection switches to the tenant role (``LAKEHOUSE_TENANT_ROLE``) and sets the
    session setting ``app.current_tenant``; both are reset on exit, also after an error.
    """
    tenant_id = uuid.UUID(str(getattr(tenant, "pk", tenant)))
    token = _current_tenant.set(tenant_id)
    connection = connections[using]
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "select set_config(%s, %s, false)", [settings.TENANT_SETTING, str(tenant_id)]
            )
            cursor.execute(f'set role "{settings.LAKEHOUSE_TENANT_ROLE}"')
        yield
    finally:
        _current_tenant.reset(token)
        if connection.connection is not None and not connection.needs_rollback:
            with connection.cursor() as cursor:
                cursor.execute("reset role")
                cursor.execute("select set_config(%s, '', false)", [settings.TENANT_SETTING])


class TenantMiddleware:
    """Activate the tenant named by the request header (its id or slug) for the request.

    Requests without the header run unscoped (the staff admin); an unknown tenant is a 400.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        value = request.headers.get(settings.TENANT_HEADER)
        if not value:
            return self.get_response(request)
        from apps.core.models import Tenant

        try:
            key: dict[str, Any] = {"pk": uuid.UUID(value)}
        except ValueError:
            key = {"slug": value}
        tenant = Tenant.objects.filter(**key).first()
        if tenant is None:
            return HttpResponseBadRequest(f"unknown tenant {value!r}")
        request.tenant = tenant  # type: ignore[attr-defined]
        user = getattr(request, "user", None)
        if user is not None:
            # Resolve the lazy user now: auth tables are not granted to the tenant role.
            _ = user.is_authenticated
        with tenant_context(tenant):
            return self.get_response(request)
