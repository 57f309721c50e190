"""The Django admin app, with :class:`apps.core.adminsite.TenantAdminSite` as ``admin.site``."""

from django.contrib.admin.apps import AdminConfig


class TenantAdminConfig(AdminConfig):
    default_site = "apps.core.adminsite.TenantAdminSite"
