"""Brands, projects, deals, payments and the business view as the console shows them, without I/O:
money in yuan (the brands API keeps fen), the deal stages and tiers with their labels, the brand and
project forms read from what the page posts (and turned into the API's bodies), and the chart data
the pages hand to their script."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from services.console.domain.formatting import BEIJING
from services.console.domain.messages import N_

__all__ = [
    "FORM_FIELDS",
    "FUNNEL",
    "NOTICES",
    "PERIODS",
    "PROJECT_STATUSES",
    "STAGES",
    "STAGE_LABELS",
    "TIERS",
    "BrandForm",
    "ProjectForm",
    "fen_of",
    "form_errors",
    "funnel_chart",
    "json_block",
    "next_stages",
    "progress_chart",
    "today_in_beijing",
    "yuan",
]

#: The deal funnel in order; ``lost`` is outside it, reachable from any open stage.
FUNNEL = ("lead", "proposal", "signed", "delivering", "renewed")
STAGES = (*FUNNEL, "lost")
STAGE_LABELS = {
    "lead": N_("Lead"),
    "proposal": N_("Proposal"),
    "signed": N_("Signed"),
    "delivering": N_("Delivering"),
    "renewed": N_("Renewed"),
    "lost": N_("Lost"),
}
TIERS = ("A", "B", "C")
PROJECT_STATUSES = ("draft", "active", "ended")
PERIODS = {"month": N_("Month"), "quarter": N_("Quarter")}

#: What a page says after a write (``?done=<key>``).
NOTICES = {
    "brand_created": N_("Brand created."),
    "brand_saved": N_("Brand saved."),
    "handed_over": N_("Brand handed over. The hand-over is in the audit log with its reason."),
    "deal_created": N_("Deal added."),
    "deal_moved": N_("Deal moved."),
    "payment_created": N_("Payment added."),
    "payment_received": N_("Payment marked as received."),
    "project_created": N_("Project created."),
    "project_saved": N_("Project saved."),
}


def today_in_beijing(now: datetime) -> date:
    return now.astimezone(BEIJING).date()


def yuan(fen: Any, *, symbol: bool = True) -> str:
    """``123456`` fen → ``¥1,234.56`` (whole yuan without the decimals); "—" when unknown."""
    if fen is None or fen == "":
        return "—"
    whole, cents = divmod(int(fen), 100)
    text = f"{whole:,}" if cents == 0 else f"{whole:,}.{cents:02d}"
    return f"¥{text}" if symbol else text


def fen_of(text: str) -> int | str:
    """Yuan as typed (``1234.5``, ``1,234``, ``¥800``) → fen; anything else as written, for the API to name."""
    cleaned = text.strip().replace(",", "").replace("，", "").lstrip("¥￥").strip()
    if not cleaned:
        return 0
    try:
        amount = Decimal(cleaned)
    except InvalidOperation:
        return text
    if not amount.is_finite() or amount != amount.quantize(Decimal("0.01")):
        return text
    return int(amount * 100)


def _int(text: str) -> int | str | None:
    """A whole number as typed; empty → None; anything else as written (the API names the field)."""
    cleaned = text.strip().replace(",", "")
    if not cleaned:
        return None
    return int(cleaned) if cleaned.lstrip("-").isdigit() else text


def next_stages(stage: str) -> list[str]:
    """Where a deal may move from ``stage``: forward through the funnel (skipping is fine), or lost;
    nothing once renewed or lost. The API applies the same rule and decides."""
    if stage not in FUNNEL or stage == "renewed":
        return []
    return [*FUNNEL[FUNNEL.index(stage) + 1 :], "lost"]


@dataclass
class BrandForm:
    name: str = ""
    industry: str = ""
    #: The account manager who owns it (an operator's name or id); empty: the one creating it.
    owner: str = ""
    version: str = ""

    @classmethod
    def parse(cls, fields: Mapping[str, str]) -> BrandForm:
        return cls(
            name=fields.get("name", "").strip(),
            industry=fields.get("industry", "").strip(),
            owner=fields.get("owner", "").strip(),
            version=fields.get("version", ""),
        )

    @classmethod
    def of(cls, brand: Mapping[str, Any]) -> BrandForm:
        return cls(
            name=str(brand.get("name", "")),
            industry=str(brand.get("industry") or ""),
            owner=str(brand.get("owner_id", "")),
            version=str(brand.get("version", "")),
        )

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "industry": self.industry or None}
        if self.owner:
            out["owner_id"] = self.owner
        return out

    def patch(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "industry": self.industry or None}
        if self.version.isdigit():
            out["version"] = int(self.version)
        return out


@dataclass
class ProjectForm:
    appid: str = ""
    name: str = ""
    target_deliveries: str = ""
    target_clicks: str = ""
    starts_on: str = ""
    ends_on: str = ""
    #: Yuan, as typed.
    price: str = ""
    #: The account manager running it (name or id); empty: the brand's owner.
    manager: str = ""
    status: str = "draft"
    version: str = ""

    @classmethod
    def parse(cls, fields: Mapping[str, str]) -> ProjectForm:
        status = fields.get("status", "draft")
        return cls(
            appid=fields.get("appid", "").strip(),
            name=fields.get("name", "").strip(),
            target_deliveries=fields.get("target_deliveries", "").strip(),
            target_clicks=fields.get("target_clicks", "").strip(),
            starts_on=fields.get("starts_on", "").strip(),
            ends_on=fields.get("ends_on", "").strip(),
            price=fields.get("price", "").strip(),
            manager=fields.get("manager", "").strip(),
            status=status if status in PROJECT_STATUSES else "draft",
            version=fields.get("version", ""),
        )

    @classmethod
    def of(cls, project: Mapping[str, Any]) -> ProjectForm:
        clicks = project.get("target_clicks")
        return cls(
            appid=str(project.get("appid", "")),
            name=str(project.get("name", "")),
            target_deliveries=str(project.get("target_deliveries", "")),
            target_clicks="" if clicks is None else str(clicks),
            starts_on=str(project.get("starts_on", "")),
            ends_on=str(project.get("ends_on", "")),
            price=yuan(project.get("price_fen", 0), symbol=False).replace(",", ""),
            manager=str(project.get("manager_id", "")),
            status=str(project.get("status", "draft")),
            version=str(project.get("version", "")),
        )

    @classmethod
    def starting(cls, appid: str, today: date) -> ProjectForm:
        """A new project's defaults: from today for 30 days."""
        return cls(appid=appid, starts_on=today.isoformat(), ends_on=(today + timedelta(days=29)).isoformat())

    def _fields(self) -> dict[str, Any]:
        return {
            "appid": self.appid,
            "name": self.name,
            # An empty target goes as 0: the API says it must be more than 0, beside the field.
            "target_deliveries": _int(self.target_deliveries) or 0,
            "target_clicks": _int(self.target_clicks),
            "starts_on": self.starts_on or None,
            "ends_on": self.ends_on or None,
            "price_fen": fen_of(self.price),
        }

    def body(self) -> dict[str, Any]:
        out = self._fields() | {"status": "active" if self.status == "active" else "draft"}
        if self.manager:
            out["manager_id"] = self.manager
        return out

    def patch(self) -> dict[str, Any]:
        out = self._fields() | {"status": self.status}
        if self.manager:
            out["manager_id"] = self.manager
        if self.version.isdigit():
            out["version"] = int(self.version)
        return out


#: The API's field names → the form's (money is typed in yuan, managers by name).
FORM_FIELDS = {"price_fen": "price", "manager_id": "manager", "owner_id": "owner", "to": "to"}


def form_errors(fields: Mapping[str, str]) -> dict[str, str]:
    return {FORM_FIELDS.get(name.split(".")[0], name.split(".")[0]): message for name, message in fields.items()}


def json_block(data: Any) -> str:
    """JSON for a ``<script type="application/json">`` block: ``</`` must not end the block early."""
    return json.dumps(data, ensure_ascii=False, default=str).replace("</", "<\\/")


def progress_chart(progress: Mapping[str, Any]) -> dict[str, Any]:
    """Completion over time: cumulative deliveries (and clicks) against the straight line from 0 on the
    first day to the target on the last. The API's days run to today; the target line goes on to the
    project's last day (its deliveries there still to come), so the chart shows the whole way."""
    series: Sequence[Mapping[str, Any]] = progress.get("series") or []
    chart: dict[str, Any] = {
        "days": [str(p["day"]) for p in series],
        "delivered_total": [int(p["delivered_total"]) for p in series],
        "clicks_total": [int(p["clicks_total"]) for p in series],
        "delivered": [int(p["delivered"]) for p in series],
        "target_line": [float(p["target_line"]) for p in series],
        "target": int(progress.get("target") or 0),
    }
    project = progress.get("project") or {}
    try:
        start, end = date.fromisoformat(str(project["starts_on"])), date.fromisoformat(str(project["ends_on"]))
    except (KeyError, ValueError):
        return chart
    days = (end - start).days + 1
    day = date.fromisoformat(chart["days"][-1]) + timedelta(days=1) if chart["days"] else start
    while day <= end and days > 0:
        elapsed = (day - start).days + 1
        chart["days"].append(day.isoformat())
        chart["target_line"].append(round(chart["target"] * elapsed / days, 2))
        for key in ("delivered_total", "clicks_total", "delivered"):
            chart[key].append(None)
        day += timedelta(days=1)
    return chart


def funnel_chart(steps: Sequence[Mapping[str, Any]], labels: Mapping[str, str]) -> dict[str, Any]:
    """The deal funnel's bars in stage order (lost last), named in the page's language."""
    by_stage = {str(s["stage"]): s for s in steps}
    return {
        "stages": [labels.get(stage, stage) for stage in STAGES],
        "keys": list(STAGES),
        "counts": [int(by_stage.get(stage, {}).get("count", 0)) for stage in STAGES],
        "values": [int(by_stage.get(stage, {}).get("value_fen", 0)) / 100 for stage in STAGES],
    }
