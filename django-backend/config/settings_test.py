"""Settings for tests: the base settings with fast password hashing and debug off."""

from config.settings import *  # noqa: F403

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
SECRET_KEY = "test-only-not-a-secret"  # noqa: S105
ALLOWED_HOSTS = [*ALLOWED_HOSTS, "testserver"]  # noqa: F405 - the Django test client
# Tenant selection by subdomain: <slug>.tenants.test
TENANT_DOMAIN = "tenants.test"
ALLOWED_HOSTS = [*ALLOWED_HOSTS, ".tenants.test"]
