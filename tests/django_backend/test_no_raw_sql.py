"""The app builds no SQL from input: every query goes through the ORM, or is a constant string
with parameters. Row-level security cannot stop injected SQL that sets ``app.tenant_id``
(test_roles.py shows it), so this is the boundary that keeps injection impossible.

The scan covers the app's code (``django-backend/apps``, ``config``), not its migrations: those
run once, as the owner, on values from settings, never on a request's input.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from lakehouse.paths import DJANGO_DIR

# Raw-SQL entry points of Django and of DB-API cursors.
ALWAYS_FORBIDDEN = {"raw", "extra", "RawSQL"}
SQL_TAKING = {"execute", "executemany", "mogrify", "copy"}


def _dynamic(node: ast.expr) -> bool:
    """True when the expression builds a string at run time (f-string, +, %, .format, join)."""
    if isinstance(node, ast.JoinedStr):
        return True
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Mod):
        return True
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        return node.func.attr in {"format", "join", "replace", "format_map"}
    return isinstance(node, ast.Name)  # a variable: where did it come from? not allowed either


def raw_sql_findings(source: str, filename: str = "<string>") -> list[str]:
    """Every raw-SQL call in ``source`` whose SQL is not a constant, as ``file:line: what``."""
    findings = []
    for node in ast.walk(ast.parse(source, filename)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = (
            func.attr
            if isinstance(func, ast.Attribute)
            else func.id
            if isinstance(func, ast.Name)
            else ""
        )
        if name in ALWAYS_FORBIDDEN:
            findings.append(f"{filename}:{node.lineno}: {name}() (use the ORM)")
        elif (
            name in SQL_TAKING
            and isinstance(func, ast.Attribute)
            and node.args
            and _dynamic(node.args[0])
        ):
            findings.append(f"{filename}:{node.lineno}: {name}() with SQL built at run time")
    return findings


def _app_files() -> list[Path]:
    files = [
        p
        for folder in ("apps", "config")
        for p in sorted((DJANGO_DIR / folder).rglob("*.py"))
        if "migrations" not in p.parts
    ]
    assert len(files) > 10, files  # the scan really looks at the app
    return files


def test_app_code_builds_no_sql_from_input() -> None:
    findings = [
        f
        for path in _app_files()
        for f in raw_sql_findings(
            path.read_text(encoding="utf-8"), str(path.relative_to(DJANGO_DIR))
        )
    ]
    assert findings == []


@pytest.mark.parametrize(
    "code",
    [
        "Customer.objects.raw('select * from customers where email = ' + email)",
        "Customer.objects.raw('select * from customers')",
        "Customer.objects.extra(where=['email = %s'], params=[email])",
        "Customer.objects.annotate(x=RawSQL('1', []))",
        "cursor.execute(f'select * from customers where email = {email}')",
        "cursor.execute('select * from customers where email = ' + email)",
        "cursor.execute('select * from customers where email = %s' % email)",
        "cursor.execute('select * from {}'.format(table))",
        "cursor.execute(query)",
        "connection.cursor().executemany(f'insert into t values ({v})', rows)",
    ],
)
def test_the_scan_catches_raw_sql(code: str) -> None:
    assert len(raw_sql_findings(code)) == 1


@pytest.mark.parametrize(
    "code",
    [
        "cursor.execute('select set_config(%s, %s, true)', [name, value])",
        "Customer.objects.filter(email=email)",
        "cursor.execute('select 1')",
    ],
)
def test_the_scan_allows_constant_sql_with_parameters(code: str) -> None:
    assert raw_sql_findings(code) == []
