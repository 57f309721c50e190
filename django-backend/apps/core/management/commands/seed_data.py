"""``manage.py seed_data``: the deterministic seed (a thin wrapper of lakehouse.source.seed)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from lakehouse.errors import LakehouseError
from lakehouse.source.seed import check_scale, check_tenants, is_empty, seed


def connection_dsn() -> str:
    """The maintenance role's URL, as ``lakehouse seed`` uses: the seed and the simulator write
    across tenants, which the app's own role (Django's connection) may not."""
    from lakehouse.config import get_settings
    from lakehouse.db.source import database_url

    return database_url(get_settings(), "maintenance")


class Command(BaseCommand):
    help = "Load deterministic multi-tenant fake data with COPY (same seed and scale, same rows)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--scale", type=float, default=1.0, help="1 gives ~600,000 rows")
        parser.add_argument("--seed", type=int, default=42, help="random seed")
        parser.add_argument(
            "--tenants", type=int, default=8, help="tenants sharing the volume (Zipf sizes)"
        )
        parser.add_argument("--reset", action="store_true", help="replace existing rows")
        parser.add_argument(
            "--if-empty", action="store_true", help="do nothing when rows are already there"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            check_scale(options["scale"])
            check_tenants(options["tenants"])
            dsn = connection_dsn()
            if options["if_empty"] and not options["reset"] and not is_empty(dsn):
                self.stdout.write("the database already has rows: nothing seeded (--if-empty)")
                return
            counts = seed(
                dsn,
                scale=options["scale"],
                seed=options["seed"],
                reset=options["reset"],
                tenants=options["tenants"],
                show_progress=True,
            )
        except LakehouseError as exc:
            raise CommandError(str(exc), returncode=exc.exit_code) from exc
        for table, n in counts.items():
            self.stdout.write(f"{table:<14} {n:>10,}")
        self.stdout.write(f"{'total':<14} {sum(counts.values()):>10,}")
