"""The brands records in MongoDB, and the unit of work that binds them to one transaction.

Calendar days are stored as ``"YYYY-MM-DD"`` strings (they sort as days do); money as integer fen.
Project counters are one document per (project, Beijing day): ``{_id: "<project>|<day>", project_id,
day, c: {<metric>: n}}``, only ever ``$inc``-ed. The latest names seen of a project's pushes and segments
are one document per project: ``{_id: "<project>", pushes: {<id>: {name, at}}, segments: {<id>: {name,
at}}}``, each entry ``$set`` on its own.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import date, datetime
from typing import Any, ClassVar

from pymongo import UpdateOne
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.brands.domain.model import (
    Brand,
    Deal,
    DealStage,
    NameTaken,
    Payment,
    Project,
    ProjectStatus,
    StageChange,
    Team,
    as_stored,
)
from services.brands.domain.progress import NameSeen, ProjectDay, ProjectNames
from services.brands.service_layer.ports import (
    BrandRepository,
    CounterRepository,
    DealRepository,
    PaymentRepository,
    ProjectRepository,
    TeamRepository,
)
from shared.storage import IndexSpec, MongoUnitOfWork

__all__ = ["BRANDS", "INDEXES", "MongoBrandsUnitOfWork"]

TEAMS, BRANDS, PROJECTS, DEALS, PAYMENTS, PROJECT_DAYS, PROJECT_NAMES = (
    "teams",
    "brands",
    "projects",
    "deals",
    "payments",
    "project_days",
    "project_names",
)

INDEXES = (
    IndexSpec(TEAMS, (("name", 1),), name="name", unique=True),
    IndexSpec(BRANDS, (("name", 1),), name="name", unique=True),
    IndexSpec(BRANDS, (("owner_id", 1), ("name", 1)), name="owner"),
    IndexSpec(PROJECTS, (("brand_id", 1), ("starts_on", -1)), name="brand"),
    IndexSpec(PROJECTS, (("appid", 1), ("status", 1)), name="account_status"),
    IndexSpec(DEALS, (("brand_id", 1), ("updated_at", -1)), name="brand"),
    IndexSpec(PAYMENTS, (("brand_id", 1), ("due_on", 1)), name="brand"),
    IndexSpec(PROJECT_DAYS, (("project_id", 1), ("day", 1)), name="project_day"),
)


def _day(value: str | None) -> date | None:
    return None if value is None else date.fromisoformat(value)


def _stage(value: str | None) -> DealStage | None:
    return None if value is None else DealStage(value)


def _text(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


# Metric names carry segment and push ids: keep MongoDB's path characters out of the field names.
def _key(metric: str) -> str:
    return metric.replace("%", "%25").replace(".", "%2E").replace("$", "%24")


def _metric(key: str) -> str:
    return key.replace("%24", "$").replace("%2E", ".").replace("%25", "%")


class _Collection:
    def __init__(self, database: AsyncDatabase[Any], name: str, session: AsyncClientSession) -> None:
        self._collection = database[name]
        self._session = session

    async def _one(self, record_id: str) -> dict[str, Any] | None:
        document: dict[str, Any] | None = await self._collection.find_one({"_id": record_id}, session=self._session)
        return document

    async def _find(self, query: dict[str, Any], sort: list[tuple[str, int]]) -> list[dict[str, Any]]:
        return [d async for d in self._collection.find(query, session=self._session).sort(sort)]

    async def _insert(self, document: dict[str, Any], taken: str | None = None) -> None:
        try:
            await self._collection.insert_one(document, session=self._session)
        except DuplicateKeyError as exc:
            raise NameTaken(taken or "exists already") from exc

    async def _replace(self, document: dict[str, Any], taken: str | None = None) -> None:
        try:
            await self._collection.replace_one({"_id": document["_id"]}, document, session=self._session)
        except DuplicateKeyError as exc:
            raise NameTaken(taken or "exists already") from exc


def _within(ids: Collection[str] | None) -> dict[str, Any]:
    return {} if ids is None else {"$in": list(ids)}


class _Teams(_Collection):
    @staticmethod
    def _doc(team: Team) -> dict[str, Any]:
        return {
            "_id": team.id,
            "name": team.name,
            "head_id": team.head_id,
            "member_ids": team.member_ids,
            "version": team.version,
        }

    @staticmethod
    def _team(d: dict[str, Any]) -> Team:
        return Team(d["_id"], d["name"], d["head_id"], list(d.get("member_ids", [])), int(d.get("version", 1)))

    async def get(self, team_id: str) -> Team | None:
        d = await self._one(team_id)
        return None if d is None else self._team(d)

    async def all(self) -> list[Team]:
        return [self._team(d) for d in await self._find({}, [("name", 1), ("_id", 1)])]

    async def add(self, team: Team) -> None:
        await self._insert(self._doc(team), f"a team named {team.name!r} exists")

    async def save(self, team: Team) -> None:
        await self._replace(self._doc(team), f"a team named {team.name!r} exists")

    async def delete(self, team_id: str) -> None:
        await self._collection.delete_one({"_id": team_id}, session=self._session)


class _Brands(_Collection):
    @staticmethod
    def _doc(brand: Brand) -> dict[str, Any]:
        return {
            "_id": brand.id,
            "name": brand.name,
            "industry": brand.industry,
            "owner_id": brand.owner_id,
            "created_at": brand.created_at,
            "last_activity_at": brand.last_activity_at,
            "version": brand.version,
        }

    @staticmethod
    def _brand(d: dict[str, Any]) -> Brand:
        return Brand(
            d["_id"],
            d["name"],
            d.get("industry"),
            d["owner_id"],
            d["created_at"],
            d["last_activity_at"],
            int(d.get("version", 1)),
        )

    async def get(self, brand_id: str) -> Brand | None:
        d = await self._one(brand_id)
        return None if d is None else self._brand(d)

    async def get_many(self, brand_ids: Collection[str]) -> dict[str, Brand]:
        found = await self._find({"_id": _within(brand_ids)}, [("_id", 1)])
        return {d["_id"]: self._brand(d) for d in found}

    async def owned_by(self, owners: Collection[str] | None) -> list[Brand]:
        query = {} if owners is None else {"owner_id": _within(owners)}
        return [self._brand(d) for d in await self._find(query, [("name", 1), ("_id", 1)])]

    async def add(self, brand: Brand) -> None:
        await self._insert(self._doc(brand), f"a brand named {brand.name!r} exists")

    async def save(self, brand: Brand) -> None:
        await self._replace(self._doc(brand), f"a brand named {brand.name!r} exists")

    async def touch(self, last_activity: Mapping[str, datetime]) -> None:
        if not last_activity:
            return
        await self._collection.bulk_write(
            [
                UpdateOne(
                    {"_id": brand_id, "last_activity_at": {"$lt": as_stored(at)}},
                    {"$set": {"last_activity_at": as_stored(at)}},
                )
                for brand_id, at in last_activity.items()
            ],
            ordered=False,
            session=self._session,
        )


class _Projects(_Collection):
    @staticmethod
    def _doc(p: Project) -> dict[str, Any]:
        return {
            "_id": p.id,
            "brand_id": p.brand_id,
            "appid": p.appid,
            "name": p.name,
            "target_deliveries": p.target_deliveries,
            "target_clicks": p.target_clicks,
            "starts_on": _text(p.starts_on),
            "ends_on": _text(p.ends_on),
            "price_fen": p.price_fen,
            "manager_id": p.manager_id,
            "status": p.status.value,
            "created_at": p.created_at,
            "version": p.version,
        }

    @staticmethod
    def _project(d: dict[str, Any]) -> Project:
        return Project(
            d["_id"],
            d["brand_id"],
            d["appid"],
            d["name"],
            int(d["target_deliveries"]),
            d.get("target_clicks"),
            date.fromisoformat(d["starts_on"]),
            date.fromisoformat(d["ends_on"]),
            int(d.get("price_fen", 0)),
            d["manager_id"],
            ProjectStatus(d["status"]),
            d["created_at"],
            int(d.get("version", 1)),
        )

    _ORDER: ClassVar[list[tuple[str, int]]] = [("starts_on", -1), ("_id", -1)]

    async def get(self, project_id: str) -> Project | None:
        d = await self._one(project_id)
        return None if d is None else self._project(d)

    async def get_many(self, project_ids: Collection[str]) -> dict[str, Project]:
        found = await self._find({"_id": _within(project_ids)}, [("_id", 1)])
        return {d["_id"]: self._project(d) for d in found}

    async def of_brands(self, brand_ids: Collection[str] | None) -> list[Project]:
        query = {} if brand_ids is None else {"brand_id": _within(brand_ids)}
        return [self._project(d) for d in await self._find(query, self._ORDER)]

    async def on_account(self, appid: str, status: ProjectStatus | None) -> list[Project]:
        query: dict[str, Any] = {"appid": appid} | ({} if status is None else {"status": status.value})
        return [self._project(d) for d in await self._find(query, self._ORDER)]

    async def add(self, project: Project) -> None:
        await self._insert(self._doc(project))

    async def save(self, project: Project) -> None:
        await self._replace(self._doc(project))


class _Deals(_Collection):
    @staticmethod
    def _doc(deal: Deal) -> dict[str, Any]:
        return {
            "_id": deal.id,
            "brand_id": deal.brand_id,
            "owner_id": deal.owner_id,
            "stage": deal.stage.value,
            "value_fen": deal.value_fen,
            "expected_close_on": _text(deal.expected_close_on),
            "updated_at": deal.updated_at,
            "history": [
                {
                    "stage": c.stage.value,
                    "at": c.at,
                    "by": c.by,
                    "previous": None if c.previous is None else c.previous.value,
                }
                for c in deal.history
            ],
            "version": deal.version,
        }

    @staticmethod
    def _deal(d: dict[str, Any]) -> Deal:
        return Deal(
            d["_id"],
            d["brand_id"],
            d["owner_id"],
            DealStage(d["stage"]),
            int(d.get("value_fen", 0)),
            _day(d.get("expected_close_on")),
            d["updated_at"],
            [
                StageChange(DealStage(c["stage"]), c["at"], c["by"], _stage(c.get("previous")))
                for c in d.get("history", [])
            ],
            int(d.get("version", 1)),
        )

    async def get(self, deal_id: str) -> Deal | None:
        d = await self._one(deal_id)
        return None if d is None else self._deal(d)

    async def of_brands(self, brand_ids: Collection[str] | None) -> list[Deal]:
        query = {} if brand_ids is None else {"brand_id": _within(brand_ids)}
        return [self._deal(d) for d in await self._find(query, [("updated_at", -1), ("_id", -1)])]

    async def add(self, deal: Deal) -> None:
        await self._insert(self._doc(deal))

    async def save(self, deal: Deal) -> None:
        await self._replace(self._doc(deal))


class _Payments(_Collection):
    @staticmethod
    def _doc(p: Payment) -> dict[str, Any]:
        return {
            "_id": p.id,
            "brand_id": p.brand_id,
            "project_id": p.project_id,
            "amount_fen": p.amount_fen,
            "due_on": _text(p.due_on),
            "received_on": _text(p.received_on),
            "created_at": p.created_at,
            "version": p.version,
        }

    @staticmethod
    def _payment(d: dict[str, Any]) -> Payment:
        return Payment(
            d["_id"],
            d["brand_id"],
            d.get("project_id"),
            int(d["amount_fen"]),
            date.fromisoformat(d["due_on"]),
            _day(d.get("received_on")),
            d["created_at"],
            int(d.get("version", 1)),
        )

    async def get(self, payment_id: str) -> Payment | None:
        d = await self._one(payment_id)
        return None if d is None else self._payment(d)

    async def of_brands(self, brand_ids: Collection[str] | None) -> list[Payment]:
        query = {} if brand_ids is None else {"brand_id": _within(brand_ids)}
        return [self._payment(d) for d in await self._find(query, [("due_on", 1), ("_id", 1)])]

    async def add(self, payment: Payment) -> None:
        await self._insert(self._doc(payment))

    async def save(self, payment: Payment) -> None:
        await self._replace(self._doc(payment))


class _Counters(_Collection):
    def __init__(self, database: AsyncDatabase[Any], name: str, session: AsyncClientSession) -> None:
        super().__init__(database, name, session)
        self._names = database[PROJECT_NAMES]

    async def names(self, project_ids: Collection[str]) -> dict[str, ProjectNames]:
        found = self._names.find({"_id": _within(project_ids)}, session=self._session)
        return {
            d["_id"]: ProjectNames(
                {_metric(k): NameSeen(v["name"], v["at"]) for k, v in d.get("pushes", {}).items()},
                {_metric(k): NameSeen(v["name"], v["at"]) for k, v in d.get("segments", {}).items()},
            )
            async for d in found
        }

    async def remember_names(self, names: Mapping[str, ProjectNames]) -> None:
        writes = [
            UpdateOne(
                {"_id": project_id},
                {
                    "$set": {
                        f"{kind}.{_key(id)}": {"name": seen.name, "at": as_stored(seen.at)}
                        for kind, entries in (("pushes", changed.pushes), ("segments", changed.segments))
                        for id, seen in entries.items()
                    }
                },
                upsert=True,
            )
            for project_id, changed in names.items()
            if changed
        ]
        if writes:
            await self._names.bulk_write(writes, ordered=False, session=self._session)

    async def add(self, increments: Mapping[tuple[str, date], Mapping[str, int]]) -> None:
        writes = [
            UpdateOne(
                {"_id": f"{project_id}|{day.isoformat()}"},
                {
                    "$setOnInsert": {"project_id": project_id, "day": day.isoformat()},
                    "$inc": {f"c.{_key(metric)}": n for metric, n in counts.items() if n},
                },
                upsert=True,
            )
            for (project_id, day), counts in increments.items()
            if any(counts.values())
        ]
        if writes:
            await self._collection.bulk_write(writes, ordered=False, session=self._session)

    def _query(self, project_ids: Collection[str], start: date | None, end: date | None) -> dict[str, Any]:
        days: dict[str, Any] = {}
        if start is not None:
            days["$gte"] = start.isoformat()
        if end is not None:
            days["$lte"] = end.isoformat()
        return {"project_id": _within(project_ids)} | ({"day": days} if days else {})

    async def days(self, project_ids: Collection[str], start: date | None, end: date | None) -> list[ProjectDay]:
        found = await self._find(self._query(project_ids, start, end), [("project_id", 1), ("day", 1)])
        return [
            ProjectDay(
                d["project_id"],
                date.fromisoformat(d["day"]),
                {_metric(k): int(v) for k, v in d.get("c", {}).items()},
            )
            for d in found
        ]

    async def delivered(self, project_ids: Collection[str], start: date, end: date) -> dict[str, int]:
        totals: dict[str, int] = {}
        cursor = self._collection.find(
            self._query(project_ids, start, end), {"project_id": 1, "c.delivered": 1}, session=self._session
        )
        async for d in cursor:
            totals[d["project_id"]] = totals.get(d["project_id"], 0) + int(d.get("c", {}).get("delivered", 0))
        return totals


class MongoBrandsUnitOfWork(MongoUnitOfWork):
    """A transaction over every brands collection, with the processed-event claims."""

    teams: TeamRepository
    brands: BrandRepository
    projects: ProjectRepository
    deals: DealRepository
    payments: PaymentRepository
    counters: CounterRepository

    def _bind(self, session: AsyncClientSession) -> None:
        self.teams = _Teams(self.database, TEAMS, session)
        self.brands = _Brands(self.database, BRANDS, session)
        self.projects = _Projects(self.database, PROJECTS, session)
        self.deals = _Deals(self.database, DEALS, session)
        self.payments = _Payments(self.database, PAYMENTS, session)
        self.counters = _Counters(self.database, PROJECT_DAYS, session)
