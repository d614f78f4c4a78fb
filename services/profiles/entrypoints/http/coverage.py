"""The tag and life-stage coverage dashboard's data: one route, JSON or CSV, read from the counters the
profile writes keep (docs/profiles.md, "Coverage"); no request walks the members."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query

from services.profiles.domain.coverage import beijing_day
from services.profiles.entrypoints.http.deps import AppId, Now, ProfilesDep
from services.profiles.service_layer.coverage import MAX_DAYS, CoverageReport, CoverageRow, coverage_report
from shared.identity import Permission, require
from shared.maternal_infant import Stage, Taxonomy
from shared.tabular import csv_text
from shared.web import csv_response

__all__ = ["router"]

router = APIRouter(tags=["profiles"])
_STATS = [Depends(require(Permission.STATS_VIEW))]
#: Default range: the last 30 days, today included.
_DEFAULT_DAYS = 30


def _refuse(field: str, message: str) -> HTTPException:
    return HTTPException(422, detail=[{"loc": ["query", field], "msg": message, "type": "value_error"}])


def _day(value: str | None, field: str) -> date | None:
    if value is None or value == "":
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise _refuse(field, "a date as YYYY-MM-DD") from None


def date_range(start: str | None, end: str | None, today: date) -> tuple[date, date]:
    """The inclusive Beijing days asked for: by default the last 30 days to today; 422 naming the field
    for a malformed date, an end before the start, or more than MAX_DAYS days."""
    last = _day(end, "to") or today
    first = _day(start, "from") or last - timedelta(days=_DEFAULT_DAYS - 1)
    if first > last:
        raise _refuse("from", "on or before 'to'")
    if (last - first).days + 1 > MAX_DAYS:
        raise _refuse("from", f"at most {MAX_DAYS} days before 'to'")
    return first, last


def _name(taxonomy: Taxonomy, code: str) -> str:
    tag = taxonomy.tags.get(code)
    return tag.name if tag is not None else code


def _name_en(taxonomy: Taxonomy, code: str) -> str:
    tag = taxonomy.tags.get(code)
    return tag.english if tag is not None else code


def _row(row: CoverageRow) -> dict[str, Any]:
    return {
        "count": row.count,
        "share": row.share,
        "previous": row.previous,
        "previous_share": row.previous_share,
        "delta": row.delta,
    }


def report_json(report: CoverageReport, taxonomy: Taxonomy) -> dict[str, Any]:
    following = report.following.count
    return {
        "range": {"from": report.first.isoformat(), "to": report.last.isoformat()},
        "previous": {"from": report.previous_first.isoformat(), "to": report.previous_last.isoformat()},
        "members": report.members,
        "following": {"count": following, "previous": report.following.previous, "delta": report.following.delta},
        "tagged": _row(report.tagged),
        "tags": [
            {
                "code": r.key,
                "name": _name(taxonomy, r.key),
                "name_en": _name_en(taxonomy, r.key),
                "family": r.key.split(".", 1)[0],
                **_row(r),
            }
            for r in report.tags
        ],
        "kinds": [{"kind": r.key, **_row(r)} for r in report.kinds],
        "cross": [
            {"kind": r.key.split("|")[0], "code": (code := r.key.split("|")[1]), "name": _name(taxonomy, code)}
            | {"name_en": _name_en(taxonomy, code), "count": r.count, "share": r.share, "base": r.base}
            for r in report.cross
        ],
        "stages": {
            "on": report.today.isoformat(),
            "rows": [
                {
                    "stage": stage.value,
                    "name": _name(taxonomy, stage.value),
                    "name_en": _name_en(taxonomy, stage.value),
                    "count": (n := report.stages.get(stage, 0)),
                    "share": round(n / following, 4) if following else 0.0,
                }
                for stage in Stage
            ],
        },
        "series": [
            {"day": d.day.isoformat(), "following": d.following, "tagged": d.tagged, "tags": d.tags}
            for d in report.series
        ],
    }


_CSV_COLUMNS = ("figure", "day", "kind", "code", "name", "count", "share", "previous", "previous_share", "delta")


def report_csv(report: CoverageReport, taxonomy: Taxonomy) -> str:
    """The same figures as one long table (a row per figure and, for the series, per day and code).
    Tag names come from a file operators may edit: csv_text quotes any that would start a formula."""
    rows: list[list[object]] = [list(_CSV_COLUMNS)]
    end = report.last.isoformat()

    def row(figure: str, r: CoverageRow, kind: str = "", code: str = "") -> None:
        values = (figure, end, kind, code, _name(taxonomy, code) if code else "", r.count, r.share)
        rows.append([*values, r.previous, r.previous_share, r.delta])

    row("following", report.following)
    row("tagged", report.tagged)
    for r in report.tags:
        row("tag", r, code=r.key)
    for r in report.kinds:
        row("stage_kind", r, kind=r.key)
    for r in report.cross:
        kind, code = r.key.split("|")
        rows.append(["kind_x_interest", end, kind, code, _name(taxonomy, code), r.count, r.share])
    following = report.following.count
    for stage in Stage:
        n = report.stages.get(stage, 0)
        share = round(n / following, 4) if following else 0.0
        rows.append(["stage", report.today.isoformat(), "", stage.value, _name(taxonomy, stage.value), n, share])
    for d in report.series:
        rows.append(["daily_following", d.day.isoformat(), "", "", "", d.following])
        rows.append(["daily_tagged", d.day.isoformat(), "", "", "", d.tagged])
        for code, n in sorted(d.tags.items()):
            rows.append(["daily_tag", d.day.isoformat(), "", code, _name(taxonomy, code), n])
    return csv_text(rows)


@router.get(
    "/accounts/{appid}/profiles/coverage",
    summary="Tag and life-stage coverage of following members, over a date range, with the previous period",
    dependencies=_STATS,
    responses={200: {"content": {"text/csv": {}}}},
)
async def coverage(
    appid: AppId,
    profiles: ProfilesDep,
    now: Now,
    start: Annotated[str | None, Query(alias="from", max_length=10, description="YYYY-MM-DD, Beijing")] = None,
    to: Annotated[str | None, Query(max_length=10, description="YYYY-MM-DD, Beijing")] = None,
    format: Annotated[str, Query(pattern="^(json|csv)$")] = "json",
) -> Any:
    today = beijing_day(now)
    first, last = date_range(start, to, today)
    codes = list(profiles.taxonomy.tags)
    report = await coverage_report(profiles.profiles, appid, first, last, today, codes)
    if format == "csv":
        name = f"coverage-{appid}-{first.isoformat()}-{last.isoformat()}.csv"
        return csv_response(report_csv(report, profiles.taxonomy), name)
    return report_json(report, profiles.taxonomy)
