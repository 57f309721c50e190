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
    # Same resolution as the CLI: the local cluster described by the LAKEHOUSE_* settings.
    from lakehouse.config import get_settings
    from lakehouse.db.source import database_url
    from lakehouse.errors import LakehouseError

    settings = get_settings()
    try:
        return database_url(settings)
    except LakehouseError:
        # No local cluster yet: commands that do not connect (check, makemigrations) still
        # work; those that do fail to connect, and 'lakehouse db up' is the fix.
        return f"postgresql://lakehouse@127.0.0.1:{settings.pg_port}/{settings.db_name}"


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
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "apps.core",
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
# NOLOGIN role the app switches to for tenant-scoped access (row-level security applies to it).
LAKEHOUSE_TENANT_ROLE = os.environ.get("LAKEHOUSE_TENANT_ROLE", "lakehouse_app")
# The session setting the row-level security policies compare tenant_id with.
TENANT_SETTING = "app.current_tenant"
# Request header naming the tenant (its id or slug) for TenantMiddleware.
TENANT_HEADER = os.environ.get("DJANGO_TENANT_HEADER", "X-Tenant")
