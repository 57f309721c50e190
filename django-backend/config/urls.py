"""URLs: sign-in, the user's tenant, and the admin (scoped to the tenant for tenant staff)."""

from apps.core.views import tenant_home
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import path

urlpatterns = [
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("tenant/", tenant_home, name="tenant-home"),
    path("admin/", admin.site.urls),
]
