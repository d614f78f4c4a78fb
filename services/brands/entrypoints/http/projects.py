"""Projects: what a brand bought, their progress against target and the value report for the brand.

Listing, reading, progress and the value report need ``brand:view``; creating and editing (``PATCH``
with the version edited: ``If-Match: "3"`` or ``"version": 3``) need ``brand:edit``, both within the
caller's scope. Push composers list an account's projects with ``push:compose`` on that account
(``GET /accounts/{appid}/projects?active=true``): names only, no money.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response

from services.brands.domain.model import Brand, Project, ProjectStatus
from services.brands.domain.progress import ProjectProgress
from services.brands.entrypoints.http.deps import (
    AccountId,
    CanEdit,
    CanView,
    IfMatch,
    ItemId,
    Now,
    Today,
    UseCases,
    needs,
    operator_id,
    operator_names,
    require_version,
    viewer_of,
)
from services.brands.entrypoints.http.schemas import (
    AccountProjectList,
    AccountProjectOut,
    ProgressOut,
    ProjectIn,
    ProjectList,
    ProjectOut,
    ProjectPatch,
    ReportDay,
    ValueReport,
    push_rows,
    segment_rows,
)
from services.brands.service_layer.use_cases import ProjectEdit
from shared.identity import Permission, audit
from shared.tabular import csv_text
from shared.web import csv_response
from shared.web import now as clock_now

__all__ = ["TAG", "account_router", "router"]

TAG = "projects"
router = APIRouter(tags=[TAG])
account_router = APIRouter(prefix="/accounts/{appid}", tags=[TAG])


def _audited(project: Project) -> dict[str, Any]:
    return {
        "name": project.name,
        "appid": project.appid,
        "target_deliveries": project.target_deliveries,
        "target_clicks": project.target_clicks,
        "starts_on": project.starts_on.isoformat(),
        "ends_on": project.ends_on.isoformat(),
        "price_fen": project.price_fen,
        "manager_id": project.manager_id,
        "status": project.status.value,
    }


def _with_etag(response: Response, project: Project, brand: Brand) -> ProjectOut:
    response.headers["ETag"] = f'"{project.version}"'
    return ProjectOut.of(project, brand)


@router.get("/projects", summary="The projects of every brand in the caller's scope, newest start first")
async def list_all_projects(
    actor: CanView,
    request: Request,
    use_cases: UseCases,
    status: ProjectStatus | None = None,
    manager: Annotated[str | None, Query(max_length=64, description="A manager's operator id")] = None,
) -> ProjectList:
    found = await use_cases.projects_in_scope(viewer_of(actor), status=status, manager=manager)
    names = await operator_names(request, {p.manager_id for p, _ in found})
    return ProjectList(items=[ProjectOut.of(p, b) for p, b in found], names=names)


@router.get("/brands/{brand_id}/projects", summary="A brand's projects, newest start first")
async def list_projects(brand_id: ItemId, actor: CanView, request: Request, use_cases: UseCases) -> ProjectList:
    brand, projects = await use_cases.list_projects(viewer_of(actor), brand_id)
    names = await operator_names(request, {p.manager_id for p in projects})
    return ProjectList(items=[ProjectOut.of(p, brand) for p in projects], names=names)


@router.post("/brands/{brand_id}/projects", status_code=201, summary="Create a project for a brand")
async def create_project(
    brand_id: ItemId,
    body: ProjectIn,
    actor: CanEdit,
    request: Request,
    response: Response,
    use_cases: UseCases,
    now: Now,
) -> ProjectOut:
    manager = (
        None
        if body.manager_id is None
        else await operator_id(request, body.manager_id, ["body", "manager_id"], Permission.BRAND_EDIT)
    )
    viewer = viewer_of(actor)
    project = await use_cases.create_project(
        viewer,
        brand_id,
        now,
        appid=body.appid,
        name=body.name,
        target_deliveries=body.target_deliveries,
        target_clicks=body.target_clicks,
        starts_on=body.starts_on,
        ends_on=body.ends_on,
        price_fen=body.price_fen,
        manager_id=manager,
        status=ProjectStatus(body.status),
    )
    await audit(request, "project.created", "project", project.id, after=_audited(project))
    saved, brand = await use_cases.get_project(viewer, project.id)
    return _with_etag(response, saved, brand)


@router.get("/projects/{project_id}", summary="One project (its version is the ETag)")
async def read_project(project_id: ItemId, actor: CanView, response: Response, use_cases: UseCases) -> ProjectOut:
    project, brand = await use_cases.get_project(viewer_of(actor), project_id)
    return _with_etag(response, project, brand)


@router.patch("/projects/{project_id}", summary="Edit a project (If-Match or version required)")
async def edit_project(
    project_id: ItemId,
    body: ProjectPatch,
    actor: CanEdit,
    request: Request,
    response: Response,
    use_cases: UseCases,
    now: Now,
    if_match: IfMatch = None,
) -> ProjectOut:
    expected = require_version(if_match, body.version)
    manager = (
        None
        if body.manager_id is None
        else await operator_id(request, body.manager_id, ["body", "manager_id"], Permission.BRAND_EDIT)
    )
    edit = ProjectEdit(
        name=body.name,
        appid=body.appid,
        target_deliveries=body.target_deliveries,
        target_clicks=body.target_clicks,
        clear_target_clicks="target_clicks" in body.model_fields_set and body.target_clicks is None,
        starts_on=body.starts_on,
        ends_on=body.ends_on,
        price_fen=body.price_fen,
        manager_id=manager,
        status=body.status,
    )
    viewer = viewer_of(actor)
    before, project = await use_cases.edit_project(viewer, project_id, expected, now, edit)
    await audit(request, "project.edited", "project", project.id, before=_audited(before), after=_audited(project))
    saved, brand = await use_cases.get_project(viewer, project.id)
    return _with_etag(response, saved, brand)


@router.get("/projects/{project_id}/progress", summary="Completion against target, daily, by segment and push")
async def read_progress(project_id: ItemId, actor: CanView, use_cases: UseCases, today: Today) -> ProgressOut:
    progress, brand = await use_cases.project_progress(viewer_of(actor), project_id, today)
    return ProgressOut.of(progress, brand)


def _report(progress: ProjectProgress, brand: Brand, request: Request) -> ValueReport:
    p = progress.project
    return ValueReport(
        brand_id=brand.id,
        brand=brand.name,
        project_id=p.id,
        project=p.name,
        appid=p.appid,
        starts_on=p.starts_on,
        ends_on=p.ends_on,
        target=p.target_deliveries,
        target_clicks=p.target_clicks,
        delivered=progress.delivered,
        clicks=progress.clicks,
        clickers=progress.clickers,
        completion=progress.completion,
        click_rate=progress.click_rate,
        by_segment=segment_rows(progress.by_segment),
        by_push=push_rows(progress.by_push),
        by_day=[
            ReportDay(day=s.day, delivered=s.delivered, clicks=s.clicks, delivered_total=s.delivered_total)
            for s in progress.series
        ],
        generated_at=clock_now(request),
    )


def _csv(report: ValueReport) -> str:
    # Brand, project, push and segment names are typed by operators: csv_text quotes any that would start
    # a formula.
    rows: list[list[object]] = [
        ["brand", "project", "account", "period", "target", "delivered", "clicked", "clickers", "click_rate"],
        [
            report.brand,
            report.project,
            report.appid,
            f"{report.starts_on}..{report.ends_on}",
            report.target,
            report.delivered,
            report.clicks,
            report.clickers,
            "" if report.click_rate is None else f"{report.click_rate}%",
        ],
        [],
        ["segment", "segment_id", "delivered", "clicked"],
        *([s.segment_name, s.segment_id, s.delivered, s.clicks] for s in report.by_segment),
        [],
        ["push", "push_id", "delivered", "clicked", "clickers"],
        *([p.push_name, p.push_id, p.delivered, p.clicks, p.clickers] for p in report.by_push),
        [],
        ["day", "delivered", "clicked", "delivered_total"],
        *([d.day.isoformat(), d.delivered, d.clicks, d.delivered_total] for d in report.by_day),
    ]
    return csv_text(rows)


@router.get(
    "/projects/{project_id}/value-report",
    summary="The value report for the brand: JSON, or ?format=csv (UTF-8 with BOM)",
    response_model=ValueReport,
)
async def value_report(
    project_id: ItemId,
    actor: CanView,
    request: Request,
    use_cases: UseCases,
    today: Today,
    format: Annotated[Literal["json", "csv"], Query()] = "json",
) -> Any:
    progress, brand = await use_cases.project_progress(viewer_of(actor), project_id, today)
    report = _report(progress, brand, request)
    if format == "json":
        return report
    return csv_response(_csv(report), f"value-report-{project_id}.csv")


@account_router.get(
    "/projects",
    summary="The account's projects, for push composers (?active=true: running ones)",
    dependencies=needs(Permission.PUSH_COMPOSE),
)
async def account_projects(
    appid: AccountId, use_cases: UseCases, today: Today, active: bool | None = None
) -> AccountProjectList:
    found = await use_cases.account_projects(appid, active=active, today=today)
    return AccountProjectList(
        items=[
            AccountProjectOut(
                id=p.id,
                name=p.name,
                brand_id=b.id,
                brand_name=b.name,
                status=p.status,
                starts_on=p.starts_on,
                ends_on=p.ends_on,
                target_deliveries=p.target_deliveries,
            )
            for p, b in found
        ]
    )
