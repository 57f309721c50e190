"""The app's own pages: the signed-in user's tenant. Dashboards build on the same pattern:
``@tenant_required``, then plain ORM queries, which the middleware has already scoped."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse

from apps.core.models import Customer, Order
from apps.core.tenancy import tenant_required


@tenant_required
def tenant_home(request: HttpRequest) -> JsonResponse:
    """Who the user acts for, and how much of that tenant's data it can see."""
    tenant = request.tenant  # type: ignore[attr-defined]
    membership = request.membership  # type: ignore[attr-defined]
    return JsonResponse(
        {
            "tenant": tenant.slug,
            "role": membership.role if membership is not None else "platform",
            "customers": Customer.objects.count(),
            "orders": Order.objects.count(),
        }
    )
