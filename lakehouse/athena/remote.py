"""The same SQL on real Amazon Athena, through boto3: ``lakehouse athena --engine athena``.

:class:`AthenaRemoteEngine` has the local engine's interface (``execute(text)`` returns one
:class:`~lakehouse.athena.results.QueryResult` per statement), so the CLI and the dashboards
choose an engine with a setting and nothing else changes.

Where each piece comes from:

- **Statements**: Athena runs one statement per ``StartQueryExecution``
  (https://docs.aws.amazon.com/athena/latest/APIReference/API_StartQueryExecution.html), so a
  text with several is split at its top-level semicolons (with sqlglot's tokenizer, so a ``;``
  inside a string or comment does not split) and each part is sent as written.
- **Workgroup**: without a tenant, the analysts' workgroup (``LAKEHOUSE_ATHENA_WORKGROUP``, or
  the ``athena_workgroup`` output of ``terraform output -json`` in ``LAKEHOUSE_TF_OUTPUTS``).
  With a tenant, that tenant's own workgroup and role from the Terraform ``tenants`` output:
  the engine assumes the tenant's role with STS and runs in the tenant's workgroup, so Lake
  Formation's data-cells filter and the workgroup's own encrypted results prefix apply
  (https://docs.aws.amazon.com/lake-formation/latest/dg/data-filters-about.html). A tenant
  without an entry is an error: a tenant query never runs unscoped.
- **Results**: ``GetQueryResults`` pages; for a ``DML`` statement the first row holds the column
  names (https://docs.aws.amazon.com/athena/latest/APIReference/API_GetQueryResults.html).
  Values arrive as text and are typed from ``ColumnInfo``, so the CLI prints them as it prints
  the local engine's. Athena keeps its own CSV at the execution's ``OutputLocation``; a copy in
  the same format is written under the local results folder.
- **Errors**: a ``FAILED`` execution's ``StateChangeReason`` starts with Athena's error name
  (``TABLE_NOT_FOUND: ...``), which becomes :class:`AthenaQueryError`'s ``code``; a query that
  runs past the timeout is stopped (``StopQueryExecution``) and reported as ``TIMEOUT``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlglot
from sqlglot import TokenType

from lakehouse.athena.errors import AthenaQueryError
from lakehouse.athena.fetch import ResultValues
from lakehouse.athena.results import QueryResult, write_csv
from lakehouse.config import Settings
from lakehouse.errors import ConfigError, LakehouseError

TERMINAL_STATES = frozenset({"SUCCEEDED", "FAILED", "CANCELLED"})
_POLL_FIRST_S = 0.1
_POLL_MAX_S = 2.0


def split_sql(text: str) -> list[str]:
    """The statements of ``text`` as written, split at top-level semicolons."""
    try:
        tokens = sqlglot.tokenize(text, read="athena")
    except sqlglot.errors.TokenError as exc:
        raise AthenaQueryError("SYNTAX_ERROR", str(exc)) from exc
    out: list[str] = []
    start = 0
    for token in tokens:
        if token.token_type is TokenType.SEMICOLON:
            out.append(text[start : token.start])
            start = token.end + 1
    out.append(text[start:])
    statements = [s.strip() for s in out if s.strip()]
    if not statements:
        raise AthenaQueryError("SYNTAX_ERROR", "the query text holds no statement")
    return statements


@dataclass(frozen=True)
class TenantTarget:
    """Where one tenant's queries run on AWS (from the Terraform ``tenants`` output)."""

    key: str
    role_arn: str
    workgroup: str
    results_uri: str


@dataclass(frozen=True)
class Deployment:
    """What the engine needs to know of a deployed stack."""

    workgroup: str | None
    tenants: Mapping[str, TenantTarget]

    @classmethod
    def from_terraform_outputs(cls, path: Path) -> Deployment:
        """Read the file that ``terraform output -json > FILE`` writes."""
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(
                f"cannot read LAKEHOUSE_TF_OUTPUTS {path}: {exc.strerror}; write it with "
                "`terraform -chdir=terraform-infra output -json > FILE`"
            ) from exc
        except ValueError as exc:
            raise ConfigError(
                f"LAKEHOUSE_TF_OUTPUTS {path} is not JSON ({exc}); write it with "
                "`terraform -chdir=terraform-infra output -json > FILE`"
            ) from exc

        def value(name: str) -> Any:
            entry = doc.get(name) if isinstance(doc, dict) else None
            return entry.get("value") if isinstance(entry, dict) else None

        tenants: dict[str, TenantTarget] = {}
        for key, t in (value("tenants") or {}).items():
            try:
                tenants[str(key)] = TenantTarget(
                    key=str(key),
                    role_arn=str(t["role_arn"]),
                    workgroup=str(t["workgroup_name"]),
                    results_uri=str(t["results_uri"]),
                )
            except (KeyError, TypeError) as exc:
                raise ConfigError(
                    f"the `tenants` output in {path} lacks {exc} for tenant {key!r}: "
                    "re-run `terraform output -json` with the current terraform-infra"
                ) from exc
        workgroup = value("athena_workgroup")
        return cls(workgroup=str(workgroup) if workgroup else None, tenants=tenants)


def deployment(settings: Settings) -> Deployment:
    """The deployment the settings describe (Terraform outputs, then explicit settings)."""
    found = (
        Deployment.from_terraform_outputs(settings.tf_outputs)
        if settings.tf_outputs is not None
        else Deployment(workgroup=None, tenants={})
    )
    workgroup = settings.athena_workgroup or found.workgroup
    return Deployment(workgroup=workgroup, tenants=found.tenants)


def failure(execution: Mapping[str, Any]) -> AthenaQueryError:
    """The error of a ``FAILED`` or ``CANCELLED`` execution, with Athena's error name as code."""
    status = execution["Status"]
    state = str(status["State"])
    reason = str(status.get("StateChangeReason") or state)
    code, _, message = reason.partition(": ")
    if not (code.replace("_", "").isalpha() and code.isupper() and message):
        code, message = ("CANCELLED" if state == "CANCELLED" else "GENERIC_ERROR"), reason
    return AthenaQueryError(code, f"{message} (query {execution['QueryExecutionId']})")


def _typed(value: str | None, type_: str) -> Any:
    """An Athena result value (text) as the Python value the local engine would return."""
    if value is None:
        return None
    t = type_.lower()
    if t in {"tinyint", "smallint", "integer", "int", "bigint"}:
        return int(value)
    if t in {"double", "float", "real"}:
        return float(value)
    if t.startswith("decimal"):
        return Decimal(value)
    if t == "boolean":
        return value == "true"
    if t == "date":
        return date.fromisoformat(value)
    if t.startswith("timestamp") and "zone" not in t:
        return datetime.fromisoformat(value)
    return value


class AthenaRemoteEngine:
    """Runs Athena SQL on Amazon Athena with boto3; the local engine's interface.

    Args:
        settings: Workgroup, Terraform outputs, timeout and the local results folder.
        tenant: A tenant key (as in the Terraform ``tenants`` map, i.e. its slug): queries run
            as that tenant's role in its workgroup.
        client_factory: ``boto3.Session().client``-like callable, for another session (tests
            use the default one pointed at moto through ``AWS_ENDPOINT_URL``).
        timeout_s: Stop a statement that runs longer than this many seconds.
    """

    def __init__(
        self,
        settings: Settings,
        tenant: str | None = None,
        *,
        timeout_s: float = 60.0,
        client_factory: Callable[..., Any] | None = None,
    ) -> None:
        import boto3

        if tenant is not None and not tenant.strip():
            raise LakehouseError("--tenant is empty: give a tenant slug, or leave --tenant out")
        self.settings = settings
        self.timeout_s = timeout_s
        self.tenant_slug = tenant
        found = deployment(settings)
        session = boto3.session.Session()
        factory = client_factory or session.client
        if tenant is None:
            if not found.workgroup:
                raise ConfigError(
                    "no Athena workgroup: set LAKEHOUSE_ATHENA_WORKGROUP, or LAKEHOUSE_TF_OUTPUTS "
                    "to the file `terraform output -json` writes"
                )
            self.workgroup = found.workgroup
            self._athena = factory("athena")
            self._results_prefix: str | None = None
        else:
            target = found.tenants.get(tenant)
            if target is None:
                raise LakehouseError(
                    f"tenant {tenant!r} has no Athena workgroup and role in the deployment "
                    "(LAKEHOUSE_TF_OUTPUTS `tenants`): declare it in the `tenants` variable of "
                    "terraform-infra and apply; a tenant query never runs unscoped"
                )
            creds = factory("sts").assume_role(
                RoleArn=target.role_arn, RoleSessionName=f"lakehouse-{target.key}"[:64]
            )["Credentials"]
            scoped = boto3.session.Session(
                aws_access_key_id=creds["AccessKeyId"],
                aws_secret_access_key=creds["SecretAccessKey"],
                aws_session_token=creds["SessionToken"],
                region_name=session.region_name,
            )
            self.workgroup = target.workgroup
            self._athena = scoped.client("athena")
            self._results_prefix = target.results_uri

    def close(self) -> None:
        """Nothing to release (boto3 clients need no closing); for the engine interface."""

    def __enter__(self) -> AthenaRemoteEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def execute(self, text: str, as_text: bool = False) -> list[QueryResult]:
        """Run every statement of ``text`` in order; stop at the first that fails.

        ``as_text`` changes nothing: Athena returns every value as text already.
        """
        return [self._run(statement) for statement in split_sql(text)]

    def _run(self, statement: str) -> QueryResult:
        started = time.perf_counter()
        query_id = self._athena.start_query_execution(
            QueryString=statement,
            WorkGroup=self.workgroup,
            QueryExecutionContext={"Catalog": "AwsDataCatalog"},
        )["QueryExecutionId"]
        execution = self._wait(query_id)
        if execution["Status"]["State"] != "SUCCEEDED":
            raise failure(execution)
        columns, types, rows = self._results(query_id, execution.get("StatementType") == "DML")
        result = QueryResult(
            query_id=query_id,
            query=statement,
            duckdb_sql=statement,
            columns=columns,
            types=types,
            values=ResultValues(types, rows),
            elapsed_ms=round((time.perf_counter() - started) * 1000, 2),
        )
        return replace(result, result_path=self._save(query_id, columns, rows))

    def _wait(self, query_id: str) -> dict[str, Any]:
        deadline = time.monotonic() + self.timeout_s
        pause = _POLL_FIRST_S
        while True:
            execution: dict[str, Any] = self._athena.get_query_execution(QueryExecutionId=query_id)[
                "QueryExecution"
            ]
            if execution["Status"]["State"] in TERMINAL_STATES:
                return execution
            if time.monotonic() >= deadline:
                self._athena.stop_query_execution(QueryExecutionId=query_id)
                raise AthenaQueryError(
                    "TIMEOUT",
                    f"query {query_id} ran longer than {self.timeout_s:g} s and was stopped; "
                    "raise --timeout if it needs longer",
                )
            time.sleep(pause)
            pause = min(pause * 2, _POLL_MAX_S)

    def _results(
        self, query_id: str, has_header: bool
    ) -> tuple[tuple[str, ...], tuple[str, ...], list[tuple[Any, ...]]]:
        paginator = self._athena.get_paginator("get_query_results")
        columns: tuple[str, ...] = ()
        types: tuple[str, ...] = ()
        rows: list[tuple[Any, ...]] = []
        first = True
        for page in paginator.paginate(QueryExecutionId=query_id):
            result_set = page["ResultSet"]
            if not columns:
                info = result_set.get("ResultSetMetadata", {}).get("ColumnInfo", [])
                columns = tuple(str(c["Name"]) for c in info)
                types = tuple(str(c["Type"]) for c in info)
            for raw in result_set.get("Rows", []):
                if first and has_header:
                    first = False
                    continue
                first = False
                cells = [cell.get("VarCharValue") for cell in raw.get("Data", [])]
                rows.append(tuple(_typed(v, t) for v, t in zip(cells, types, strict=True)))
        return columns, types, rows

    def _save(
        self, query_id: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> Path | None:
        if self.settings.lake.startswith("s3://"):
            return None
        folder = Path(self.settings.athena_results_uri) / "athena" / (self.tenant_slug or "_all")
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = folder / f"{query_id}.csv"
        write_csv(path, columns, rows)
        path.chmod(0o600)
        return path
