"""``manage.py create_tenant_user``: a user who signs in to one tenant's dashboards.

The password is generated and printed once, or read from standard input
(``--password-stdin``); it is never taken from the command line, where other users of the
machine could read it.
"""

from __future__ import annotations

import secrets
import sys
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.validators import validate_email
from django.db import transaction

from apps.core.models import Membership, Tenant
from apps.core.tenancy import all_tenants_context, tenant_context


class Command(BaseCommand):
    help = "Create a user with a membership in one tenant (viewer by default)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", required=True, help="the tenant's slug")
        parser.add_argument("--email", required=True, help="the user's e-mail (the login name)")
        parser.add_argument("--role", choices=["viewer", "admin"], default="viewer")
        parser.add_argument(
            "--password-stdin", action="store_true", help="read the password from stdin"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        email = str(options["email"]).strip().lower()
        try:
            validate_email(email)
        except ValidationError as exc:
            raise CommandError("--email is not an e-mail address") from exc
        with all_tenants_context():
            tenant = Tenant.objects.filter(slug=options["tenant"]).first()
        if tenant is None:
            raise CommandError("no tenant with that slug; list them with `lakehouse db counts`")
        if options["password_stdin"]:
            password = sys.stdin.readline().rstrip("\n")
            if len(password) < 12:
                raise CommandError("the password from stdin must have at least 12 characters")
            shown = None
        else:
            password = shown = secrets.token_urlsafe(15)
        if User.objects.filter(username=email).exists():
            raise CommandError("a user with that e-mail exists already")
        with transaction.atomic(), tenant_context(tenant):
            user = User.objects.create_user(username=email, email=email, password=password)
            Membership.objects.create(user=user, tenant=tenant, role=options["role"])
        self.stdout.write(f"created {email} ({options['role']} of {tenant.slug})")
        if shown is not None:
            self.stdout.write(f"password (shown once): {shown}")
