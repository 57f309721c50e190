"""Settings of the source app, all from environment variables (no secrets in the repository).

``DATABASE_URL`` selects the database; when it is unset the private cluster started by
``lakehouse db up`` is used, so that ``manage.py`` and the ``lakehouse`` CLI always agree.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _database_url() -> str:
    url = os.environ.get("DATABASE_URL")
    if url:
        return url
    # Same resolution as the CLI: the local cluster described by the LAKEHOUSE_* settings, as
    # the app's login role (neither owner nor superuser; 'lakehouse db migrate' runs the
    # migrations as the owner).
    from lakehouse.config import get_settings
    from lakehouse.db.source import database_url
    from lakehouse.errors import LakehouseError

    settings = get_settings()
    try:
        return database_url(settings, "app")
    except LakehouseError:
        # No local cluster yet: commands that do not connect (check, makemigrations) still
        # work; those that do fail to connect, and 'lakehouse db up' is the fix.
        return f"postgresql://{LAKEHOUSE_APP_ROLE}@127.0.0.1:{settings.pg_port}/{settings.db_name}"


# The database roles (see lakehouse/db/roles.py): the migrations grant to them by name.
# LAKEHOUSE_TENANT_ROLE is the older name of the app's role (migration 0002 reads it).
LAKEHOUSE_APP_ROLE = os.environ.get(
    "LAKEHOUSE_APP_ROLE", os.environ.get("LAKEHOUSE_TENANT_ROLE", "lakehouse_app")
)
LAKEHOUSE_TENANT_ROLE = LAKEHOUSE_APP_ROLE
LAKEHOUSE_MAINTENANCE_ROLE = os.environ.get("LAKEHOUSE_MAINTENANCE_ROLE", "lakehouse_maintenance")
LAKEHOUSE_REPLICATOR_ROLE = os.environ.get("LAKEHOUSE_REPLICATOR_ROLE", "lakehouse_replicator")


DEBUG = _env_bool("DJANGO_DEBUG", False)
# A random key per process when none is configured: fine for the local admin (sessions do not
# survive a restart); production sets DJANGO_SECRET_KEY.
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY") or secrets.token_urlsafe(50)
ALLOWED_HOSTS = [
    h.strip()
    for h in os.environ.get("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",")
    if h.strip()
]

INSTALLED_APPS = [
    "apps.core.adminconfig.TenantAdminConfig",  # django.contrib.admin, scoped to the tenant
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "apps.core",
    "apps.analytics",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "apps.core.tenancy.TenantMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {"default": dj_database_url.parse(_database_url(), conn_max_age=60)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"

# Publication for change data capture (the replicator and DMS read it); same env var as the CLI.
LAKEHOUSE_PUBLICATION = os.environ.get("LAKEHOUSE_PUBLICATION", "lakehouse_pub")
# The session settings the row-level security policies read; the middleware sets them per
# transaction (set_config(..., true)), never per session.
TENANT_SETTING = "app.tenant_id"
USER_SETTING = "app.user_id"
ALL_TENANTS_SETTING = "app.all_tenants"
# Request header selecting one of the user's tenants (its id or slug); optional, like the
# subdomain of DJANGO_TENANT_DOMAIN (e.g. "example.com": acme.example.com selects "acme").
TENANT_HEADER = os.environ.get("DJANGO_TENANT_HEADER", "X-Tenant")
TENANT_DOMAIN = os.environ.get("DJANGO_TENANT_DOMAIN", "").strip().lower().lstrip(".")
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/tenant/"
