"""URLs: sign-in, the user's tenant, and the admin (scoped to the tenant for tenant staff)."""

from apps.core.tenancy import tenant_not_found
from apps.core.views import tenant_home
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.urls import include, path

urlpatterns = [
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("tenant/", tenant_home, name="tenant-home"),
    path("analytics/", include("apps.analytics.urls")),
    path("admin/", admin.site.urls),
]


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Every 404 is the tenant 404: the same fixed text, nothing of the request echoed."""
    return tenant_not_found()


handler404 = not_found
