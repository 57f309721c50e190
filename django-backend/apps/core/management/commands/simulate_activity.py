"""``manage.py simulate_activity``: business activity (a thin wrapper of
lakehouse.source.simulate)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.core.management.commands.seed_data import connection_dsn
from lakehouse.errors import LakehouseError
from lakehouse.source.simulate import simulate


class Command(BaseCommand):
    help = "Simulate business changes in valid transactions (orders, payments, refunds, ...)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--rate", type=float, default=None, help="changes per second")
        end = parser.add_mutually_exclusive_group(required=True)
        end.add_argument("--changes", type=int, help="stop after this many row changes")
        end.add_argument("--seconds", type=float, help="stop after this many seconds")
        parser.add_argument("--seed", type=int, default=7, help="random seed")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            stats = simulate(
                connection_dsn(),
                changes=options["changes"],
                seconds=options["seconds"],
                rate=options["rate"],
                seed=options["seed"],
                show_progress=True,
            )
        except LakehouseError as exc:
            raise CommandError(str(exc), returncode=exc.exit_code) from exc
        self.stdout.write(
            f"{stats.changes:,} row changes in {stats.transactions:,} transactions over "
            f"{stats.seconds:.1f} s ({stats.changes_per_second:,.0f} changes/s)"
        )
        for key, n in stats.by_table_op().items():
            self.stdout.write(f"{key:<24} {n:>8,}")
