"""The operator actions on brands, projects, deals, payments and teams, and the figures they read.

Every use case takes the :class:`~services.brands.domain.rules.Viewer` (the caller) and works within
their :class:`~services.brands.domain.rules.Scope`: a record outside it is :class:`NotFound`, exactly
like one that does not exist. Writes run in one unit of work each and move the brand's last activity.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TypeVar

from services.brands.domain.business import BrandStanding, BusinessView, business_view, standing
from services.brands.domain.model import (
    Brand,
    Deal,
    DealStage,
    Invalid,
    NotFound,
    Payment,
    Project,
    ProjectStatus,
    StageChange,
    Team,
    as_stored,
    beijing_day,
    check_version,
    new_id,
)
from services.brands.domain.progress import ProjectProgress, progress
from services.brands.domain.rules import (
    PeriodKind,
    Scope,
    Tier,
    TierThresholds,
    Viewer,
    check_handover,
    period_of,
    scope_of,
)
from services.brands.service_layer.ports import BrandsUnitOfWork
from shared.storage import retry_transient

__all__ = ["BrandsUseCases", "Handover", "Policy", "ProjectEdit", "TeamEdit"]

T = TypeVar("T")


@dataclass(frozen=True)
class Policy:
    thresholds: TierThresholds
    inactive_days: int
    renewal_days: int


@dataclass(frozen=True)
class TeamEdit:
    name: str | None = None
    head_id: str | None = None
    member_ids: list[str] | None = None


@dataclass(frozen=True)
class ProjectEdit:
    """Fields to change (None: unchanged; ``target_clicks`` is cleared with ``clear_target_clicks``)."""

    name: str | None = None
    appid: str | None = None
    target_deliveries: int | None = None
    target_clicks: int | None = None
    clear_target_clicks: bool = False
    starts_on: date | None = None
    ends_on: date | None = None
    price_fen: int | None = None
    manager_id: str | None = None
    status: ProjectStatus | None = None


@dataclass(frozen=True)
class Handover:
    brand: Brand
    from_owner: str
    projects: list[str] = field(default_factory=list)
    deals: list[str] = field(default_factory=list)


def _not_found(kind: str, record_id: str) -> NotFound:
    return NotFound(f"no {kind} {record_id!r}")


class BrandsUseCases:
    def __init__(self, uow: Callable[[], BrandsUnitOfWork], policy: Policy) -> None:
        self._uow = uow
        self.policy = policy

    async def _write(self, work: Callable[[BrandsUnitOfWork], Awaitable[T]]) -> T:
        """``work`` in one transaction, committed; run again when it lost a race (a write conflict with
        another request or the worker touching the same brand), so the loser then sees the winner's
        result (a stale version is a 409, not a 503)."""

        async def attempt() -> T:
            async with self._uow() as uow:
                result = await work(uow)
                await uow.commit()
                return result

        return await retry_transient(attempt)

    # -- who sees what ------------------------------------------------------------------------------

    async def scope(self, viewer: Viewer) -> Scope:
        if viewer.admin:
            return scope_of(viewer, [])
        async with self._uow() as uow:
            return scope_of(viewer, await uow.teams.all())

    async def _brand_in(self, uow: BrandsUnitOfWork, scope: Scope, brand_id: str) -> Brand:
        brand = await uow.brands.get(brand_id)
        if brand is None or not scope.sees_brand(brand):
            raise _not_found("brand", brand_id)
        return brand

    async def _project_in(self, uow: BrandsUnitOfWork, scope: Scope, project_id: str) -> tuple[Project, Brand]:
        project = await uow.projects.get(project_id)
        brand = None if project is None else await uow.brands.get(project.brand_id)
        if project is None or brand is None or not (scope.sees_brand(brand) or scope.sees(project.manager_id)):
            raise _not_found("project", project_id)
        return project, brand

    @staticmethod
    def _owner_within(scope: Scope, operator_id: str, field_name: str) -> None:
        if not scope.sees(operator_id):
            raise Invalid(field_name, "only yourself or a manager of a team you head")

    # -- teams (their writes are for admins: the route checks it) -----------------------------------

    async def list_teams(self, viewer: Viewer) -> list[Team]:
        async with self._uow() as uow:
            teams = await uow.teams.all()
        if viewer.admin:
            return teams
        return [t for t in teams if viewer.actor_id == t.head_id or viewer.actor_id in t.member_ids]

    async def get_team(self, viewer: Viewer, team_id: str) -> Team:
        for team in await self.list_teams(viewer):
            if team.id == team_id:
                return team
        raise _not_found("team", team_id)

    async def create_team(self, name: str, head_id: str, member_ids: list[str]) -> Team:
        team = Team(new_id("team"), name.strip(), head_id, list(dict.fromkeys(member_ids)))
        if not team.name:
            raise Invalid("name", "a team needs a name")

        async def work(uow: BrandsUnitOfWork) -> Team:
            await uow.teams.add(team)
            return team

        return await self._write(work)

    async def edit_team(self, team_id: str, expected: int | None, edit: TeamEdit) -> tuple[Team, Team]:
        """(before, after)."""

        async def work(uow: BrandsUnitOfWork) -> tuple[Team, Team]:
            team = await uow.teams.get(team_id)
            if team is None:
                raise _not_found("team", team_id)
            check_version("team", team_id, team.version, expected)
            before = Team(team.id, team.name, team.head_id, list(team.member_ids), team.version)
            if edit.name is not None:
                if not edit.name.strip():
                    raise Invalid("name", "a team needs a name")
                team.name = edit.name.strip()
            if edit.head_id is not None:
                team.head_id = edit.head_id
            if edit.member_ids is not None:
                team.member_ids = list(dict.fromkeys(edit.member_ids))
            team.version += 1
            await uow.teams.save(team)
            return before, team

        return await self._write(work)

    async def delete_team(self, team_id: str) -> Team:
        async def work(uow: BrandsUnitOfWork) -> Team:
            team = await uow.teams.get(team_id)
            if team is None:
                raise _not_found("team", team_id)
            await uow.teams.delete(team_id)
            return team

        return await self._write(work)

    # -- brands -------------------------------------------------------------------------------------

    async def list_brands(
        self,
        viewer: Viewer,
        now: datetime,
        *,
        owner: str | None = None,
        tier: Tier | None = None,
        inactive: bool | None = None,
    ) -> list[BrandStanding]:
        scope = await self.scope(viewer)
        if owner is not None and not scope.sees(owner):
            return []
        owners = [owner] if owner is not None else (None if scope.everyone else scope.owners)
        async with self._uow() as uow:
            brands = await uow.brands.owned_by(owners)
            payments = await uow.payments.of_brands([b.id for b in brands])
        rows = self._standings(brands, payments, now)
        return [
            row for row in rows if (tier is None or row.tier is tier) and (inactive is None or row.inactive is inactive)
        ]

    def _standings(self, brands: list[Brand], payments: list[Payment], now: datetime) -> list[BrandStanding]:
        by_brand: dict[str, list[Payment]] = {}
        for payment in payments:
            by_brand.setdefault(payment.brand_id, []).append(payment)
        p = self.policy
        today = beijing_day(now)
        return [standing(b, by_brand.get(b.id, []), now, today, p.thresholds, p.inactive_days) for b in brands]

    async def get_brand(self, viewer: Viewer, brand_id: str, now: datetime) -> BrandStanding:
        scope = await self.scope(viewer)
        async with self._uow() as uow:
            brand = await self._brand_in(uow, scope, brand_id)
            payments = await uow.payments.of_brands([brand_id])
        return self._standings([brand], payments, now)[0]

    async def create_brand(
        self, viewer: Viewer, now: datetime, *, name: str, industry: str | None, owner_id: str | None
    ) -> Brand:
        scope = await self.scope(viewer)
        owner = owner_id or viewer.actor_id
        self._owner_within(scope, owner, "owner_id")
        if not name.strip():
            raise Invalid("name", "a brand needs a name")
        at = as_stored(now)
        brand = Brand(new_id("brand"), name.strip(), (industry or "").strip() or None, owner, at, at)

        async def work(uow: BrandsUnitOfWork) -> Brand:
            await uow.brands.add(brand)
            return brand

        return await self._write(work)

    async def edit_brand(
        self,
        viewer: Viewer,
        brand_id: str,
        expected: int | None,
        now: datetime,
        *,
        name: str | None,
        industry: str | None,
    ) -> tuple[Brand, Brand]:
        scope = await self.scope(viewer)

        async def work(uow: BrandsUnitOfWork) -> tuple[Brand, Brand]:
            brand = await self._brand_in(uow, scope, brand_id)
            check_version("brand", brand_id, brand.version, expected)
            before = Brand(**vars(brand))
            if name is not None:
                if not name.strip():
                    raise Invalid("name", "a brand needs a name")
                brand.name = name.strip()
            if industry is not None:
                brand.industry = industry.strip() or None
            brand.touch(as_stored(now))
            brand.version += 1
            await uow.brands.save(brand)
            return before, brand

        return await self._write(work)

    async def hand_over(self, viewer: Viewer, brand_id: str, to: str, now: datetime) -> Handover:
        """The brand, its open projects and its open deals go to ``to``, in one transaction."""
        scope = await self.scope(viewer)

        async def work(uow: BrandsUnitOfWork) -> Handover:
            brand = await self._brand_in(uow, scope, brand_id)
            check_handover(scope, brand, to)
            moved = Handover(brand, brand.owner_id)
            brand.owner_id = to
            brand.touch(as_stored(now))
            brand.version += 1
            await uow.brands.save(brand)
            for project in await uow.projects.of_brands([brand_id]):
                if project.is_open and project.manager_id != to:
                    project.manager_id = to
                    project.version += 1
                    await uow.projects.save(project)
                    moved.projects.append(project.id)
            for deal in await uow.deals.of_brands([brand_id]):
                if deal.is_open and deal.owner_id != to:
                    deal.owner_id = to
                    deal.version += 1
                    await uow.deals.save(deal)
                    moved.deals.append(deal.id)
            return moved

        return await self._write(work)

    # -- projects -----------------------------------------------------------------------------------

    async def list_projects(self, viewer: Viewer, brand_id: str) -> tuple[Brand, list[Project]]:
        scope = await self.scope(viewer)
        async with self._uow() as uow:
            brand = await self._brand_in(uow, scope, brand_id)
            return brand, await uow.projects.of_brands([brand_id])

    async def projects_in_scope(
        self, viewer: Viewer, *, status: ProjectStatus | None = None, manager: str | None = None
    ) -> list[tuple[Project, Brand]]:
        """The projects of every brand the caller sees, newest start first."""
        scope = await self.scope(viewer)
        async with self._uow() as uow:
            brands = {b.id: b for b in await uow.brands.owned_by(None if scope.everyone else scope.owners)}
            projects = await uow.projects.of_brands(None if scope.everyone else list(brands))
        return [
            (p, brands[p.brand_id])
            for p in projects
            if p.brand_id in brands
            and (status is None or p.status is status)
            and (manager is None or p.manager_id == manager)
        ]

    async def get_project(self, viewer: Viewer, project_id: str) -> tuple[Project, Brand]:
        scope = await self.scope(viewer)
        async with self._uow() as uow:
            return await self._project_in(uow, scope, project_id)

    async def create_project(
        self,
        viewer: Viewer,
        brand_id: str,
        now: datetime,
        *,
        appid: str,
        name: str,
        target_deliveries: int,
        target_clicks: int | None,
        starts_on: date,
        ends_on: date,
        price_fen: int,
        manager_id: str | None,
        status: ProjectStatus,
    ) -> Project:
        scope = await self.scope(viewer)
        if status is ProjectStatus.ENDED:
            raise Invalid("status", "a new project is a draft or active")

        async def work(uow: BrandsUnitOfWork) -> Project:
            brand = await self._brand_in(uow, scope, brand_id)
            manager = manager_id or brand.owner_id
            self._owner_within(scope, manager, "manager_id")
            at = as_stored(now)
            project = Project(
                new_id("proj"),
                brand_id,
                appid,
                name.strip(),
                target_deliveries,
                target_clicks,
                starts_on,
                ends_on,
                price_fen,
                manager,
                status,
                at,
            )
            await uow.projects.add(project)
            await uow.brands.touch({brand.id: at})
            return project

        return await self._write(work)

    async def edit_project(
        self, viewer: Viewer, project_id: str, expected: int | None, now: datetime, edit: ProjectEdit
    ) -> tuple[Project, Project]:
        scope = await self.scope(viewer)

        async def work(uow: BrandsUnitOfWork) -> tuple[Project, Project]:
            project, brand = await self._project_in(uow, scope, project_id)
            check_version("project", project_id, project.version, expected)
            before = Project(**vars(project))
            if edit.manager_id is not None:
                self._owner_within(scope, edit.manager_id, "manager_id")
                project.manager_id = edit.manager_id
            for name in ("name", "appid", "target_deliveries", "starts_on", "ends_on", "price_fen"):
                value = getattr(edit, name)
                if value is not None:
                    setattr(project, name, value.strip() if isinstance(value, str) else value)
            if edit.clear_target_clicks:
                project.target_clicks = None
            elif edit.target_clicks is not None:
                project.target_clicks = edit.target_clicks
            if edit.status is not None:
                project.move(edit.status)
            project.validate()
            project.version += 1
            await uow.projects.save(project)
            await uow.brands.touch({brand.id: as_stored(now)})
            return before, project

        return await self._write(work)

    async def account_projects(self, appid: str, *, active: bool | None, today: date) -> list[tuple[Project, Brand]]:
        """The projects run on an account (for push composers): ``active`` ones are running and not past
        their last day."""
        async with self._uow() as uow:
            projects = await uow.projects.on_account(appid, ProjectStatus.ACTIVE if active else None)
            brands = await uow.brands.get_many({p.brand_id for p in projects})
        if active:
            projects = [p for p in projects if p.ends_on >= today]
        elif active is False:
            projects = [p for p in projects if p.status is not ProjectStatus.ACTIVE or p.ends_on < today]
        return [(p, brands[p.brand_id]) for p in projects if p.brand_id in brands]

    async def project_progress(self, viewer: Viewer, project_id: str, today: date) -> tuple[ProjectProgress, Brand]:
        scope = await self.scope(viewer)
        async with self._uow() as uow:
            project, brand = await self._project_in(uow, scope, project_id)
            days = await uow.counters.days([project_id], None, None)
            names = await uow.counters.names([project_id])
        return progress(project, days, today, names.get(project_id)), brand

    # -- deals --------------------------------------------------------------------------------------

    async def list_deals(self, viewer: Viewer, brand_id: str | None, stage: DealStage | None) -> list[Deal]:
        scope = await self.scope(viewer)
        async with self._uow() as uow:
            if brand_id is not None:
                brand_ids: list[str] | None = [(await self._brand_in(uow, scope, brand_id)).id]
            elif scope.everyone:
                brand_ids = None
            else:
                brand_ids = [b.id for b in await uow.brands.owned_by(scope.owners)]
            deals = await uow.deals.of_brands(brand_ids)
        return [d for d in deals if stage is None or d.stage is stage]

    async def get_deal(self, viewer: Viewer, deal_id: str) -> Deal:
        scope = await self.scope(viewer)
        async with self._uow() as uow:
            return await self._deal_in(uow, scope, deal_id)

    async def _deal_in(self, uow: BrandsUnitOfWork, scope: Scope, deal_id: str) -> Deal:
        deal = await uow.deals.get(deal_id)
        brand = None if deal is None else await uow.brands.get(deal.brand_id)
        if deal is None or brand is None or not (scope.sees_brand(brand) or scope.sees(deal.owner_id)):
            raise _not_found("deal", deal_id)
        return deal

    async def create_deal(
        self,
        viewer: Viewer,
        now: datetime,
        *,
        brand_id: str,
        value_fen: int,
        expected_close_on: date | None,
        stage: DealStage,
    ) -> Deal:
        scope = await self.scope(viewer)
        if stage in (DealStage.RENEWED, DealStage.LOST):
            raise Invalid("stage", "a new deal starts in an open stage")
        at = as_stored(now)

        async def work(uow: BrandsUnitOfWork) -> Deal:
            brand = await self._brand_in(uow, scope, brand_id)
            deal = Deal(
                new_id("deal"),
                brand_id,
                brand.owner_id,
                stage,
                value_fen,
                expected_close_on,
                at,
                [StageChange(stage, at, viewer.actor_id)],
            )
            await uow.deals.add(deal)
            await uow.brands.touch({brand_id: at})
            return deal

        return await self._write(work)

    async def move_deal(
        self, viewer: Viewer, deal_id: str, stage: DealStage, now: datetime, expected: int | None
    ) -> tuple[DealStage, Deal]:
        scope = await self.scope(viewer)
        at = as_stored(now)

        async def work(uow: BrandsUnitOfWork) -> tuple[DealStage, Deal]:
            deal = await self._deal_in(uow, scope, deal_id)
            check_version("deal", deal_id, deal.version, expected)
            before = deal.stage
            deal.move(stage, at, viewer.actor_id)
            deal.version += 1
            await uow.deals.save(deal)
            await uow.brands.touch({deal.brand_id: at})
            return before, deal

        return await self._write(work)

    # -- payments -----------------------------------------------------------------------------------

    async def list_payments(self, viewer: Viewer, brand_id: str | None) -> list[Payment]:
        scope = await self.scope(viewer)
        async with self._uow() as uow:
            if brand_id is not None:
                brand_ids: list[str] | None = [(await self._brand_in(uow, scope, brand_id)).id]
            elif scope.everyone:
                brand_ids = None
            else:
                brand_ids = [b.id for b in await uow.brands.owned_by(scope.owners)]
            return await uow.payments.of_brands(brand_ids)

    async def create_payment(
        self,
        viewer: Viewer,
        now: datetime,
        *,
        brand_id: str,
        project_id: str | None,
        amount_fen: int,
        due_on: date,
        received_on: date | None,
    ) -> Payment:
        scope = await self.scope(viewer)
        at = as_stored(now)

        async def work(uow: BrandsUnitOfWork) -> Payment:
            await self._brand_in(uow, scope, brand_id)
            if project_id is not None:
                project = await uow.projects.get(project_id)
                if project is None or project.brand_id != brand_id:
                    raise Invalid("project_id", f"brand {brand_id!r} has no project {project_id!r}")
            payment = Payment(new_id("pay"), brand_id, project_id, amount_fen, due_on, received_on, at)
            await uow.payments.add(payment)
            await uow.brands.touch({brand_id: at})
            return payment

        return await self._write(work)

    async def receive_payment(
        self, viewer: Viewer, payment_id: str, received_on: date, now: datetime
    ) -> tuple[Payment, Payment]:
        scope = await self.scope(viewer)
        at = as_stored(now)

        async def work(uow: BrandsUnitOfWork) -> tuple[Payment, Payment]:
            payment = await uow.payments.get(payment_id)
            brand = None if payment is None else await uow.brands.get(payment.brand_id)
            if payment is None or brand is None or not scope.sees_brand(brand):
                raise _not_found("payment", payment_id)
            before = Payment(**vars(payment))
            if payment.received_on == received_on:
                return before, payment  # marked so already: a repeated request changes nothing
            if payment.received_on is not None:
                raise Invalid("received_on", f"the payment was marked received on {payment.received_on} already")
            payment.received_on = received_on
            payment.version += 1
            await uow.payments.save(payment)
            await uow.brands.touch({payment.brand_id: at})
            return before, payment

        return await self._write(work)

    # -- the business view --------------------------------------------------------------------------

    async def business(self, viewer: Viewer, kind: PeriodKind, at: date, now: datetime) -> BusinessView:
        period = period_of(kind, at)
        async with self._uow() as uow:
            all_teams = await uow.teams.all()
            scope = scope_of(viewer, all_teams)
            brands = await uow.brands.owned_by(None if scope.everyone else scope.owners)
            brand_ids = [b.id for b in brands]
            projects = await uow.projects.of_brands(brand_ids)
            deals = await uow.deals.of_brands(brand_ids)
            payments = await uow.payments.of_brands(brand_ids)
            delivered = await uow.counters.delivered([p.id for p in projects], period.start, period.end)
        if scope.everyone:
            teams = all_teams
            managers = {m for t in teams for m in (t.head_id, *t.member_ids)}
        else:
            teams = [t for t in all_teams if t.head_id == viewer.actor_id]
            managers = set(scope.owners)
        return business_view(
            period=period,
            at=at,
            now=now,
            today=beijing_day(now),
            brands=brands,
            projects=projects,
            deals=deals,
            payments=payments,
            teams=teams,
            managers=managers,
            delivered=delivered,
            thresholds=self.policy.thresholds,
            inactive_days=self.policy.inactive_days,
            renewal_days=self.policy.renewal_days,
        )
