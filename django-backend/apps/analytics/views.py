"""Tenant analytics pages, their CSV downloads, and the operations view for platform staff.

The tenant is part of every analytics URL and must be one of the signed-in user's memberships
(platform staff: any tenant), resolved with the same rules as the rest of the app
(:func:`apps.core.tenancy.resolve_tenant`). An unknown page, an unknown tenant and another
tenant's page all give the same 404, which echoes nothing. The numbers come from gold through
the analytics engine scoped to that tenant (``LAKEHOUSE_ATHENA_ENGINE``: DuckDB locally, Athena
on AWS), so a page cannot hold another tenant's rows even if this code had a bug.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
)
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import format_html_join
from django.utils.safestring import SafeString
from django.views.decorators.http import require_GET

from apps.core.models import Membership
from apps.core.tenancy import (
    TenantNotFound,
    is_platform_staff,
    resolve_tenant,
    tenant_not_found,
    user_context,
)
from lakehouse.analytics import operations as ops
from lakehouse.analytics.pages import PAGES, BadDateRangeError, PageNotFoundError, parse_range
from lakehouse.analytics.pages import page as find_page
from lakehouse.analytics.service import PageData, run_page, tenant_engine
from lakehouse.config import get_settings
from lakehouse.errors import LakehouseError

log = logging.getLogger(__name__)


def _tenant(request: HttpRequest, selector: str) -> Any | None:
    """The user's tenant named ``selector`` (slug or id), or None (then: 404)."""
    user = request.user
    with user_context(user.pk):
        try:
            access = resolve_tenant(user, selector)
        except TenantNotFound:
            return None
    return access.tenant


def _unavailable(request: HttpRequest, what: str) -> HttpResponse:
    return render(
        request,
        "analytics/unavailable.html",
        {"what": what, "pages": PAGES},
        status=503,
    )


def _memberships(request: HttpRequest) -> list[Membership]:
    """The signed-in user's memberships (their tenants, by name), and nothing else."""
    with user_context(request.user.pk):
        return list(
            Membership.objects.filter(user_id=request.user.pk)
            .select_related("tenant")
            .order_by("tenant__name", "tenant__slug")
        )


@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """The tenant picker: straight to the overview with one tenant, else the user's tenants.

    Only the user's own memberships are listed; platform staff, who may open any tenant by
    its URL, are offered the operations view, not a list of every tenant.
    """
    memberships = _memberships(request)
    if len(memberships) == 1:
        return redirect("analytics:page", tenant=memberships[0].tenant.slug, page="overview")
    return render(
        request,
        "analytics/home.html",
        {"memberships": memberships, "platform": is_platform_staff(request.user)},
    )


def _load(request: HttpRequest, tenant: str, page: str) -> PageData | HttpResponse:
    found = _tenant(request, tenant)
    if found is None:
        return tenant_not_found()
    try:
        p = find_page(page)
    except PageNotFoundError:
        return tenant_not_found()
    try:
        start, end = parse_range(request.GET.get("from"), request.GET.get("to"))
    except BadDateRangeError as exc:
        # Our own wording; the request's value is not repeated.
        return HttpResponseBadRequest(str(exc), content_type="text/plain; charset=utf-8")
    try:
        engine = tenant_engine(get_settings(), found.slug)
        try:
            return run_page(engine, p, start, end)
        finally:
            engine.close()
    except LakehouseError:
        log.exception("analytics page %s for tenant %s failed", p.slug, found.pk)
        return _unavailable(request, p.title)


def _table_rows(rows: list[list[str]]) -> SafeString:
    """The numbers table's rows, every value escaped (built here, not by template loops: a
    page of a few thousand cells took the template longer than the query)."""
    return format_html_join(
        "",
        "<tr>{}</tr>",
        ((format_html_join("", "<td>{}</td>", ((v,) for v in row)),) for row in rows),
    )


@login_required
@require_GET
def page(request: HttpRequest, tenant: str, page: str) -> HttpResponse:
    """One analytics page: charts, the numbers as a table, a CSV link."""
    data = _load(request, tenant, page)
    if isinstance(data, HttpResponse):
        return data
    query = request.GET.urlencode()
    rows = data.text_rows()
    context = {
        "tenant": tenant,
        "several": len(_memberships(request)) > 1,
        "page": data.page,
        "pages": PAGES,
        "data": data,
        "row_count": len(rows),
        "table_rows": _table_rows(rows),
        "figures": data.figures(),
        "start": data.start.isoformat() if data.start else "",
        "end": data.end.isoformat() if data.end else "",
        "csv_url": reverse("analytics:page-csv", kwargs={"tenant": tenant, "page": page})
        + (f"?{query}" if query else ""),
        "kpis": (
            list(zip(data.columns, rows[0], strict=True))
            if data.page.slug == "overview" and data.rows
            else []
        ),
    }
    return render(request, "analytics/page.html", context)


@login_required
@require_GET
def page_csv(request: HttpRequest, tenant: str, page: str) -> HttpResponse:
    """The page's numbers as Athena's result CSV."""
    data = _load(request, tenant, page)
    if isinstance(data, HttpResponse):
        return data
    response = HttpResponse(data.csv(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{data.page.slug}.csv"'
    return response


@require_GET
def plotly_js(request: HttpRequest) -> FileResponse:
    """The chart library, shipped inside the ``plotly`` package: no CDN at run time."""
    import plotly

    path = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    if not path.is_file():
        raise Http404
    response = FileResponse(path.open("rb"), content_type="text/javascript")
    response["Cache-Control"] = "public, max-age=86400"
    return response


def _tenant_links(table: dict[str, Any]) -> dict[str, str]:
    """The tenant table's first, previous, next and last page links (those that lead
    somewhere), keeping its size and prefix; built from the parsed request, never from the
    URL's own text."""
    asked: ops.TenantPageRequest = table["request"]
    number, pages = table.get("number", 1), table.get("pages", 1)

    def link(to: int) -> str:
        query: dict[str, str | int] = {"page": to}
        if asked.size != ops.TENANT_PAGE_SIZE:
            query["size"] = asked.size
        if asked.prefix:
            query["prefix"] = asked.prefix
        return f"?{urlencode(query)}#tenants"

    out: dict[str, str] = {}
    if number > 1:
        out["first"], out["previous"] = link(1), link(number - 1)
    if number < pages:
        out["next"], out["last"] = link(number + 1), link(pages)
    return out


@login_required
@require_GET
def operations(request: HttpRequest) -> HttpResponse:
    """Replication, pipeline runs, quality, reconcile, gold freshness and one page of the
    tenants (``?page=N&size=S&prefix=P``), for platform staff."""
    if not is_platform_staff(request.user):
        return tenant_not_found()
    try:
        asked = ops.parse_tenant_page(
            request.GET.get("page"), request.GET.get("size"), request.GET.get("prefix")
        )
    except ops.BadTenantPageError as exc:
        # Our own wording; the request's value is not repeated.
        return HttpResponseBadRequest(str(exc), content_type="text/plain; charset=utf-8")
    context = ops.overview(get_settings(), asked)
    context["tenant_links"] = _tenant_links(context["tenants"])
    return render(request, "analytics/operations.html", context)
