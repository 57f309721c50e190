"""Tenant isolation in the app, with PostgreSQL row-level security as the second line.

The first line is the ORM: :class:`TenantManager` narrows every query of a tenant-owned model
to the tenant active in the current context. The second line is the database: the app logs in
as a role that is neither owner, superuser nor BYPASSRLS, and the forced policies (migrations
0003 and 0004) show it only the rows of the tenant named in ``app.tenant_id``. That setting is
set per transaction (``set_config(..., true)``), so it can never outlive the request that set
it, even on a pooled connection.

A request's tenant comes from the authenticated user's memberships (:func:`resolve_tenant`);
the ``X-Tenant`` header or the subdomain only selects among them. Anonymous requests never
resolve a tenant. An unknown tenant and someone else's tenant get the same 404, which echoes
nothing of the request.
"""

from __future__ import annotations

import contextvars
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth.models import PermissionsMixin
from django.db import connections, models, transaction
from django.http import HttpRequest, HttpResponse, HttpResponseNotFound
from django.utils.cache import patch_vary_headers

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

    from apps.core.models import Membership, Tenant

_current_tenant: contextvars.ContextVar[uuid.UUID | None] = contextvars.ContextVar(
    "current_tenant", default=None
)

#: The one body of every "no such tenant" answer: unknown and forbidden look the same.
NOT_FOUND_BODY = "Not found.\n"
PLATFORM_PERMISSION = "core.view_all_tenants"


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

    Outside a tenant context it adds no filter; what the app's role then sees is up to the
    database (nothing, unless platform staff's read-all setting is on).
    """

    def get_queryset(self) -> TenantQuerySet:
        qs = TenantQuerySet(self.model, using=self._db)
        tenant_id = current_tenant_id()
        return qs if tenant_id is None else qs.for_tenant(tenant_id)

    def for_tenant(self, tenant: Tenant | uuid.UUID | str) -> TenantQuerySet:
        return TenantQuerySet(self.model, using=self._db).for_tenant(tenant)


def _set_local(name: str, value: str, using: str) -> str:
    """Set a session setting for the current transaction only; returns the previous value."""
    connection = connections[using]
    if not connection.in_atomic_block:
        raise RuntimeError(f"{name} must be set inside a transaction (transaction.atomic)")
    with connection.cursor() as cursor:
        cursor.execute("select coalesce(current_setting(%s, true), '')", [name])
        previous = str(cursor.fetchone()[0])
        cursor.execute("select set_config(%s, %s, true)", [name, value])
    return previous


@contextmanager
def _setting(name: str, value: str, using: str) -> Iterator[None]:
    """A transaction-local setting for a block; the previous value is back afterwards."""
    with transaction.atomic(using=using):
        previous = _set_local(name, value, using)
        yield
        # Only on success: after an error the (sub)transaction's rollback undoes the setting.
        _set_local(name, previous, using)


@contextmanager
def tenant_context(tenant: Tenant | uuid.UUID | str, *, using: str = "default") -> Iterator[None]:
    """Run a block as one tenant, in a transaction: ORM scoping plus row-level security."""
    tenant_id = uuid.UUID(str(getattr(tenant, "pk", tenant)))
    with _setting(settings.TENANT_SETTING, str(tenant_id), using):
        token = _current_tenant.set(tenant_id)
        try:
            yield
        finally:
            _current_tenant.reset(token)


@contextmanager
def all_tenants_context(*, using: str = "default") -> Iterator[None]:
    """Platform staff: read every tenant's rows (the policies allow SELECT only)."""
    token = _current_tenant.set(None)
    try:
        with _setting(settings.ALL_TENANTS_SETTING, "on", using):
            yield
    finally:
        _current_tenant.reset(token)


@contextmanager
def user_context(user_id: int | None, *, using: str = "default") -> Iterator[None]:
    """Let the database show this user's own memberships (and their tenants).

    ``user_id`` is a signed-in user's ``pk`` (``None`` only for an anonymous user, who has no
    memberships to show: refused).
    """
    if user_id is None:
        raise RuntimeError("user_context needs a signed-in user (the view must require login)")
    with _setting(settings.USER_SETTING, str(int(user_id)), using):
        yield


def is_platform_staff(user: AbstractBaseUser | AnonymousUser) -> bool:
    """Superusers, and users granted ``core.view_all_tenants`` explicitly."""
    return bool(
        user.is_authenticated
        and user.is_active
        and (
            getattr(user, "is_superuser", False)
            # Permissions belong to users with PermissionsMixin (the project's User).
            or (isinstance(user, PermissionsMixin) and user.has_perm(PLATFORM_PERMISSION))
        )
    )


@dataclass(frozen=True)
class TenantAccess:
    """What a request may see: one tenant (with the user's membership), or all (platform)."""

    tenant: Tenant | None
    membership: Membership | None
    all_tenants: bool = False


class TenantNotFound(Exception):
    """The selected tenant is unknown or not the user's (deliberately indistinguishable)."""


def selector_of(request: HttpRequest) -> str | None:
    """The tenant the request asks for: the header, else the subdomain; None when neither."""
    value = request.headers.get(settings.TENANT_HEADER, "").strip()
    if value:
        return value
    domain = settings.TENANT_DOMAIN
    if domain:
        host = request.get_host().split(":", 1)[0].lower()
        if host.endswith("." + domain):
            sub = host[: -len(domain) - 1]
            if sub and "." not in sub:
                return sub
    return None


def _matches(tenant: Tenant, selector: str) -> bool:
    return tenant.slug == selector or str(tenant.pk) == selector.lower()


def resolve_tenant(
    user: AbstractBaseUser | AnonymousUser, selector: str | None, *, using: str = "default"
) -> TenantAccess:
    """Which tenant an authenticated user acts for; call inside :func:`user_context`.

    - a selector must name one of the user's memberships (platform staff: any tenant), else
      :class:`TenantNotFound`;
    - no selector: the user's only membership; platform staff without one see all tenants;
      a user with several memberships has none selected.
    """
    from apps.core.models import Membership, Tenant

    if not user.is_authenticated:
        return TenantAccess(None, None)
    memberships = list(
        Membership.objects.using(using).filter(user_id=user.pk).select_related("tenant")
    )
    platform = is_platform_staff(user)
    if selector is not None:
        for m in memberships:
            if _matches(m.tenant, selector):
                return TenantAccess(m.tenant, m)
        if platform:
            with all_tenants_context(using=using):
                for t in Tenant.objects.using(using).filter(slug=selector):
                    return TenantAccess(t, None)
                try:
                    key = uuid.UUID(selector)
                except ValueError:
                    raise TenantNotFound from None
                for t in Tenant.objects.using(using).filter(pk=key):
                    return TenantAccess(t, None)
        raise TenantNotFound
    if len(memberships) == 1:
        return TenantAccess(memberships[0].tenant, memberships[0])
    if platform:
        return TenantAccess(None, None, all_tenants=True)
    return TenantAccess(None, None)


def tenant_not_found() -> HttpResponse:
    """The same 404 for an unknown and a forbidden tenant: fixed text, nothing echoed."""
    return HttpResponseNotFound(NOT_FOUND_BODY, content_type="text/plain; charset=utf-8")


class TenantMiddleware:
    """Resolve the request's tenant and run the rest of the request in its transaction.

    Must come after ``AuthenticationMiddleware``. Sets ``request.tenant``,
    ``request.membership`` and ``request.all_tenants``. The whole response is produced in one
    transaction carrying ``app.user_id`` and either ``app.tenant_id`` or, for platform staff
    without a selection, ``app.all_tenants``; a streaming response consumed after the
    transaction sees no tenant rows (fails closed).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.tenant = None  # type: ignore[attr-defined]
        request.membership = None  # type: ignore[attr-defined]
        request.all_tenants = False  # type: ignore[attr-defined]
        user = request.user  # type: ignore[attr-defined]
        if not user.is_authenticated:
            # Anonymous: no tenant, whatever the header or host says.
            return self.get_response(request)
        selector = selector_of(request)
        with user_context(user.pk):
            try:
                access = resolve_tenant(user, selector)
            except TenantNotFound:
                response = tenant_not_found()
            else:
                request.tenant = access.tenant  # type: ignore[attr-defined]
                request.membership = access.membership  # type: ignore[attr-defined]
                request.all_tenants = access.all_tenants  # type: ignore[attr-defined]
                if access.tenant is not None:
                    with tenant_context(access.tenant):
                        response = self.get_response(request)
                elif access.all_tenants:
                    with all_tenants_context():
                        response = self.get_response(request)
                else:
                    response = self.get_response(request)
        patch_vary_headers(response, (settings.TENANT_HEADER, "Cookie"))
        return response


def tenant_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """A view that needs one tenant: anonymous users go to the login page, others without a
    tenant get the same 404 as an unknown tenant."""
    from functools import wraps

    from django.contrib.auth.decorators import login_required

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if getattr(request, "tenant", None) is None:
            return tenant_not_found()
        return view(request, *args, **kwargs)

    return login_required(wrapped)
