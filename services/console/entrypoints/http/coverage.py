"""Tag coverage (标签覆盖): how much of the following audience carries each interest and life stage, by
stage kind, over time, against the previous period; over the profiles API's coverage route (its
counters), with its CSV passed through."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from services.console.domain.members import tag_name
from services.console.domain.messages import N_
from services.console.entrypoints.http.deps import AccountPage
from services.console.service_layer.ports import Api, ApiError

router = APIRouter()

_BEIJING = timezone(timedelta(hours=8))
PRESETS = (7, 30, 90)
#: Stage kinds in the order the page shows them, with their labels (translated in the template).
KINDS = {
    "planning": N_("Trying to conceive"),
    "pregnant": N_("Pregnant (due date)"),
    "parenting": N_("Parenting (birthday)"),
    "unknown": N_("Stage unknown"),
}
#: Interests drawn as lines over time: the most held ones.
_LINES = 5


def _today() -> date:
    return datetime.now(UTC).astimezone(_BEIJING).date()


def _presets(appid: str, today: date) -> list[dict[str, Any]]:
    return [
        {
            "days": days,
            "from": (today - timedelta(days=days - 1)).isoformat(),
            "to": today.isoformat(),
            "href": f"/accounts/{appid}/coverage?from={(today - timedelta(days=days - 1)).isoformat()}"
            f"&to={today.isoformat()}",
        }
        for days in PRESETS
    ]


def _chart_data(report: dict[str, Any], locale: str, kind_labels: dict[str, str]) -> str:
    """What coverage.js draws: the stage-kind × interest bars (share of the kind's followers) and the
    daily lines (share of followers holding a tag, for the tagged and the most held interests)."""
    interests = [row for row in report["tags"] if row["family"] == "interest" and row["code"].count(".") == 1]
    top = sorted((r for r in interests if r["count"]), key=lambda r: -r["count"])[:_LINES]
    cross = {(row["kind"], row["code"]): row["share"] for row in report["cross"]}
    series = report["series"]
    data = {
        "interests": [tag_name(r["code"], r["name"], locale, r.get("name_en")) for r in interests],
        "bars": [
            {"name": kind_labels[kind], "data": [round(cross.get((kind, r["code"]), 0.0) * 100, 1) for r in interests]}
            for kind in KINDS
        ],
        "days": [day["day"] for day in series],
        "lines": [
            {
                "name": kind_labels["_tagged"],
                "data": [_pct(day["tagged"], day["following"]) for day in series],
            },
            *(
                {
                    "name": tag_name(r["code"], r["name"], locale, r.get("name_en")),
                    "data": [_pct(day["tags"].get(r["code"], 0), day["following"]) for day in series],
                }
                for r in top
            ),
        ],
    }
    # Inside a <script type="application/json">: "</" must not end the block early.
    return json.dumps(data, ensure_ascii=False).replace("</", "<\\/")


def _pct(part: int, whole: int) -> float:
    return round(part * 100 / whole, 1) if whole else 0.0


@router.get("/accounts/{appid}/coverage", response_class=HTMLResponse)
async def coverage_page(view: AccountPage, start: str = "", to: str = "") -> HTMLResponse:
    # ``from`` is a keyword in Python: read it from the query string itself.
    start = view.request.query_params.get("from", start)
    today = _today()
    params = {key: value for key, value in (("from", start), ("to", to)) if value}
    problems: dict[str, str] = {}
    report: dict[str, Any] | None = None
    try:
        report = await view.get(Api.PROFILES, view.account_path("/profiles/coverage"), **params)
    except ApiError as exc:
        if exc.status != 422:
            raise
        problems = exc.fields
        view.flashes.append(("error", view.error(exc)))
    kind_labels = {kind: view.gettext(label) for kind, label in KINDS.items()}
    rows: list[dict[str, Any]] = []
    chart = "{}"
    if report is not None:
        chart = _chart_data(report, view.locale, kind_labels | {"_tagged": view.gettext("Any tag or stage")})
        rows = [
            row | {"label": tag_name(row["code"], row["name"], view.locale, row.get("name_en"))}
            for row in report["tags"]
            if row["count"] or row["previous"]
        ]
    export = view.account_path("/coverage/export.csv")
    if report is not None:
        export += f"?from={report['range']['from']}&to={report['range']['to']}"
    return view.render(
        "coverage/page.html",
        report=report,
        rows=rows,
        kind_labels=kind_labels,
        chart=chart,
        presets=_presets(view.appid or "", today),
        chosen={"from": start or (report or {}).get("range", {}).get("from", ""), "to": to},
        problems=problems,
        export=export,
        stage_name=lambda code, name: tag_name(code, name, view.locale),
    )


@router.get("/accounts/{appid}/coverage/export.csv", response_model=None)
async def export_coverage(view: AccountPage, to: str = "") -> Response:
    """The API's CSV passed through (UTF-8 with a BOM, as the API writes it)."""
    start = view.request.query_params.get("from", "")
    params = {key: value for key, value in (("from", start), ("to", to), ("format", "csv")) if value}
    reply = await view.call(Api.PROFILES, "GET", view.account_path("/profiles/coverage"), params=params)
    disposition = reply.headers.get("content-disposition") or f'attachment; filename="coverage-{view.appid}.csv"'
    return Response(reply.content, media_type="text/csv; charset=utf-8", headers={"Content-Disposition": disposition})
