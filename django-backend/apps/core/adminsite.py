"""The admin site: who may enter (see ``apps/core/admin.py`` for what they see).

A module of its own because ``admin.site`` is built from it lazily, while ``admin.py``
registers models on ``admin.site``.
"""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from apps.core.models import Membership
from apps.core.tenancy import is_platform_staff


def is_tenant_admin(request: HttpRequest) -> bool:
    membership = getattr(request, "membership", None)
    return (
        getattr(request, "tenant", None) is not None
        and membership is not None
        and membership.role == Membership.Role.ADMIN
    )


class TenantAdminSite(admin.AdminSite):
    site_header = "SaaS source"

    def has_permission(self, request: HttpRequest) -> bool:
        user = request.user
        if not (user.is_active and user.is_staff):
            return False
        return is_platform_staff(user) or is_tenant_admin(request)
