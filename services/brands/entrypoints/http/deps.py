"""What the brands routes are given: the use cases, the caller as the brand rules see them, the clock,
path parameters, version checks and operator look-ups."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import Depends, Header, HTTPException, Path, Request
from fastapi.exceptions import RequestValidationError

from services.brands.bootstrap import Brands
from services.brands.domain.model import beijing_day
from services.brands.domain.rules import Viewer
from services.brands.entrypoints.http.schemas import ID_PATTERN
from services.brands.service_layer.use_cases import BrandsUseCases
from shared.identity import (
    ALL_ACCOUNTS,
    ROLE_PERMISSIONS,
    Grant,
    Identity,
    OperatorNotFound,
    Permission,
    Role,
    authorize,
    directory_of,
    require,
)
from shared.web import now, service_of

__all__ = [
    "AccountId",
    "CanAssign",
    "CanEdit",
    "CanView",
    "IfMatch",
    "ItemId",
    "Now",
    "Today",
    "UseCases",
    "assignable",
    "expected_version",
    "field_error",
    "needs",
    "operator_id",
    "operator_names",
    "require_version",
    "viewer_of",
]

AccountId = Annotated[str, Path(min_length=1, max_length=64, pattern=ID_PATTERN, description="The account's appid")]
ItemId = Annotated[str, Path(min_length=1, max_length=64, pattern=ID_PATTERN)]
IfMatch = Annotated[
    str | None, Header(alias="If-Match", max_length=40, description='The version edited, e.g. "3" (the ETag)')
]


def _use_cases(request: Request) -> BrandsUseCases:
    brands: Brands = service_of(request)
    return brands.use_cases


def _now(request: Request) -> datetime:
    return now(request)


def _today(request: Request) -> date:
    return beijing_day(now(request))


UseCases = Annotated[BrandsUseCases, Depends(_use_cases)]
Now = Annotated[datetime, Depends(_now)]
Today = Annotated[date, Depends(_today)]

#: The caller, once checked for the permission.
CanView = Annotated[Identity, Depends(require(Permission.BRAND_VIEW))]
CanEdit = Annotated[Identity, Depends(require(Permission.BRAND_EDIT))]
CanAssign = Annotated[Identity, Depends(require(Permission.BRAND_ASSIGN))]


def needs(permission: Permission) -> list[Any]:
    """A route's ``dependencies=``: 403 unless the caller holds ``permission`` (on the path's account)."""
    return [Depends(require(permission))]


def viewer_of(identity: Identity) -> Viewer:
    """Admins (the admin role on every account) see every brand; sales heads (their role on every
    account) their teams'; anyone else with ``brand:view`` their own."""
    admin = Grant(Role.ADMIN, ALL_ACCOUNTS) in identity.grants and authorize(identity, Permission.BRAND_ASSIGN, None)
    head = Grant(Role.SALES_HEAD, ALL_ACCOUNTS) in identity.grants and authorize(identity, Permission.BRAND_VIEW, None)
    return Viewer(identity.actor_id, admin=admin, head=head)


def field_error(loc: list[str | int], message: str) -> RequestValidationError:
    """A 422 naming the field at fault, in pydantic's shape."""
    return RequestValidationError([{"type": "value_error", "loc": loc, "msg": message, "input": None}])


def expected_version(if_match: str | None, body_version: int | None = None) -> int | None:
    """The version an edit is based on: from ``If-Match`` (``"3"``, ``W/"3"``), else from the body."""
    if if_match is None:
        return body_version
    text = if_match.strip().removeprefix("W/").strip('"')
    if not text.isdigit():
        raise field_error(["header", "If-Match"], 'expected a version like "3"')
    return int(text)


def require_version(if_match: str | None, body_version: int | None) -> int:
    expected = expected_version(if_match, body_version)
    if expected is None:
        raise HTTPException(428, detail='send the version you edit: If-Match: "<version>" or "version" in the body')
    return expected


async def operator_id(request: Request, ref: str, loc: list[str | int], holding: Permission) -> str:
    """The id of the enabled operator ``ref`` names (by id or name), who holds ``holding`` on every account
    (brands are not per account): an owner or manager must be able to see and edit what they are given.
    422 naming ``loc`` otherwise."""
    directory = directory_of(request)
    try:
        operator = await directory.operator(ref)
    except OperatorNotFound:
        raise field_error(loc, f"no operator {ref!r}") from None
    if operator.disabled:
        raise field_error(loc, f"operator {ref!r} is disabled")
    grants = await directory.store.grants_of(operator.id)
    if not any(g.appid == ALL_ACCOUNTS and holding in ROLE_PERMISSIONS[g.role] for g in grants):
        raise field_error(loc, f"operator {ref!r} does not hold {holding.value} on every account")
    return operator.id


async def operator_names(request: Request, ids: Iterable[str] | None = None) -> dict[str, str]:
    """Operators' names by id (all, or those of ``ids``), for lists to show beside the ids."""
    operators = await directory_of(request).store.list_operators()
    wanted = None if ids is None else set(ids)
    return {o.id: o.name for o in operators if wanted is None or o.id in wanted}


async def assignable(request: Request) -> list[tuple[str, str]]:
    """(id, name) of every enabled operator who may own brands: ``brand:edit`` on every account."""
    return [
        (operator.id, operator.name)
        for operator, grants in await directory_of(request).operators()
        if not operator.disabled
        and any(g.appid == ALL_ACCOUNTS and Permission.BRAND_EDIT in ROLE_PERMISSIONS[g.role] for g in grants)
    ]
