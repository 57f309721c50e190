"""The source database's roles: who may do what, and the SQL that creates them.

Four login roles, none of them a superuser:

- ``owner`` owns the schema and runs the Django migrations (it creates the publication, which
  requires owning the published tables). Row-level security is FORCED, so the owner too sees
  only the tenant named in ``app.tenant_id``: a migration that touches rows cannot reach across
  tenants by accident.
- ``maintenance`` is a member of ``owner`` and has a policy that lets it read and write every
  tenant's rows. The seed and the simulator run as this role: they write across tenants on
  purpose, and keeping that power on its own credential means the web process and the
  migrations never hold it. The seed's bulk COPY needs row-level security off (PostgreSQL
  refuses ``COPY FROM`` into a table whose policies apply); as a member of the owner it lifts
  FORCE inside its own transaction, so no other session ever sees the table unforced.
- ``app`` is the Django app's login. It owns nothing, is not a superuser, has neither
  BYPASSRLS nor membership of any role (so ``SET ROLE`` to another role is refused), and may
  only read and write the rows of the tenant its request set.
- ``replicator`` has REPLICATION and SELECT on the published tables only (a SELECT-only policy
  for all rows): what the snapshot full load (``COPY ... TO``) and pgoutput need, nothing else.

Locally the bootstrap superuser of ``initdb`` creates them (:meth:`LocalCluster.ensure_roles`);
on any other server an operator runs :func:`create_roles_sql` (``lakehouse db roles-sql``) as
a role allowed to create roles. BYPASSRLS is deliberately not used: RDS does not let
``rds_superuser`` grant it, and the policies say the same thing in the schema.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, get_args

if TYPE_CHECKING:
    # Imported where used, so that the CLI's start (which lists the roles) loads no driver.
    from psycopg import sql

Role = Literal["app", "owner", "maintenance", "replicator"]
ROLES: tuple[Role, ...] = get_args(Role)


@dataclass(frozen=True)
class RoleNames:
    """The PostgreSQL names of the four roles (defaults; Django reads the same env vars)."""

    app: str = "lakehouse_app"
    owner: str = "lakehouse_owner"
    maintenance: str = "lakehouse_maintenance"
    replicator: str = "lakehouse_replicator"

    def of(self, role: Role) -> str:
        return str(getattr(self, role))


def _attributes(role: Role, *, rds: bool) -> sql.Composable:
    from psycopg import sql

    common = "login nosuperuser nocreatedb nocreaterole nobypassrls"
    if rds and role == "replicator":
        # RDS refuses the REPLICATION attribute; the rds_replication role stands for it.
        return sql.SQL(f"{common} noinherit")
    extra = {
        "app": "noinherit noreplication",
        "owner": "inherit noreplication",  # inherits pg_database_owner (the public schema)
        "maintenance": "inherit noreplication",
        "replicator": "noinherit replication",
    }[role]
    return sql.SQL(f"{common} {extra}")


def roles_sql(
    names: RoleNames, passwords: Mapping[Role, str] | None = None, *, rds: bool = False
) -> list[sql.Composed]:
    """Statements that create the four roles, or bring existing ones up to date.

    Idempotent: an existing role gets its attributes (and password, when one is given) reset.
    Without ``passwords`` the roles get none: the operator sets them (``\\password`` in psql).
    Run as a superuser or, on RDS, as the master user (``rds_superuser`` with CREATEROLE); with
    ``rds`` the replicator gets ``rds_replication`` instead of the REPLICATION attribute
    (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Appendix.PostgreSQL.CommonDBATasks.Roles.rds_superuser.html).
    """
    from psycopg import sql

    out: list[sql.Composed] = []
    for role in ROLES:
        name = names.of(role)
        out.append(
            sql.SQL(
                "do $$ begin if not exists (select from pg_roles where rolname = {lit}) then "
                "create role {ident}; end if; end $$"
            ).format(lit=sql.Literal(name), ident=sql.Identifier(name))
        )
        attributes = _attributes(role, rds=rds)
        out.append(sql.SQL("alter role {} with {}").format(sql.Identifier(name), attributes))
        if passwords and role in passwords:
            out.append(
                sql.SQL("alter role {} password {}").format(
                    sql.Identifier(name), sql.Literal(passwords[role])
                )
            )
    out.append(
        sql.SQL("grant {} to {}").format(
            sql.Identifier(names.owner), sql.Identifier(names.maintenance)
        )
    )
    if rds:
        out.append(sql.SQL("grant rds_replication to {}").format(sql.Identifier(names.replicator)))
    return out


def database_sql(names: RoleNames, database: str) -> list[sql.Composed]:
    """Statements that hand ``database`` to the owner and let only the four roles connect."""
    from psycopg import sql

    db = sql.Identifier(database)
    # The owner creates the schema's objects (PostgreSQL 15: the public schema belongs to the
    # database owner) and the publication (CREATE on the database).
    out = [sql.SQL("alter database {} owner to {}").format(db, sql.Identifier(names.owner))]
    for role in ("app", "maintenance", "replicator"):
        out.append(
            sql.SQL("grant connect on database {} to {}").format(db, sql.Identifier(names.of(role)))
        )
    # Nobody else may connect or create temporary tables (PUBLIC may, by default).
    out.append(sql.SQL("revoke all on database {} from public").format(db))
    return out


def render(statements: list[sql.Composed]) -> str:
    """The statements as one SQL script (identifiers and literals quoted without a server)."""
    return "".join(f"{s.as_string(None)};\n" for s in statements)
