"""The fixtures every test package shares live in ``tests/support``, registered here."""

pytest_plugins = [
    "tests.support.postgres",
    "tests.support.spark",
    "tests.support.moto",
    "tests.support.lake",
    "tests.support.processes",
]
