"""Who may do what, on which Official Account: permissions, roles, grants and the identity of a request.

Pure: no I/O. Deny by default: :func:`authorize` answers True only for a grant whose role holds the
permission on the account asked about (or on every account, ``"*"``), narrowed by a token's scopes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

from shared.identity._exceptions import InvalidIdentityInput

__all__ = [
    "ALL_ACCOUNTS",
    "ROLE_PERMISSIONS",
    "Grant",
    "Identity",
    "IdentityKind",
    "Permission",
    "Role",
    "accounts_with",
    "authorize",
    "parse_permissions",
]

#: The appid of a grant that holds on every Official Account.
ALL_ACCOUNTS = "*"

IdentityKind = Literal["operator", "service"]


class Permission(StrEnum):
    """A verb on a resource. Sending and exporting are their own verbs, apart from editing."""

    CAMPAIGN_VIEW = "campaign:view"
    CAMPAIGN_EDIT = "campaign:edit"
    CAMPAIGN_LAUNCH = "campaign:launch"
    REVIEW_DECIDE = "review:decide"
    MEMBER_VIEW = "member:view"
    MEMBER_REVEAL_PII = "member:reveal_pii"
    MEMBER_EXPORT = "member:export"
    PROFILE_EDIT = "profile:edit"
    SEGMENT_VIEW = "segment:view"
    SEGMENT_EDIT = "segment:edit"
    PUSH_VIEW = "push:view"
    PUSH_COMPOSE = "push:compose"
    PUSH_SEND = "push:send"
    STATS_VIEW = "stats:view"
    OPERATOR_MANAGE = "operator:manage"
    AUDIT_VIEW = "audit:view"
    TOKEN_MANAGE = "token:manage"  # noqa: S105 (a permission's name)
    BRAND_VIEW = "brand:view"
    BRAND_EDIT = "brand:edit"
    BRAND_ASSIGN = "brand:assign"
    #: The review queue's decided submissions with their pictures and labels (members' screenshots).
    SCREENSHOT_EXPORT = "screenshot:export"
    #: Erasing a member's personal data everywhere (PIPL): irreversible, so admins only.
    MEMBER_ERASE = "member:erase"


class Role(StrEnum):
    ADMIN = "admin"
    CAMPAIGN_OPERATOR = "campaign_operator"
    REVIEWER = "reviewer"
    PROJECT_MANAGER = "project_manager"
    ANALYST = "analyst"
    ACCOUNT_MANAGER = "account_manager"
    SALES_HEAD = "sales_head"


P = Permission
_READ = frozenset({P.CAMPAIGN_VIEW, P.MEMBER_VIEW, P.SEGMENT_VIEW, P.PUSH_VIEW, P.STATS_VIEW})

#: What each role may do. Nobody but an admin manages operators, tokens or reads the audit log.
ROLE_PERMISSIONS: Mapping[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    # Runs campaigns: builds and launches them, tags members, builds segments; does not send pushes.
    Role.CAMPAIGN_OPERATOR: _READ
    | {P.CAMPAIGN_EDIT, P.CAMPAIGN_LAUNCH, P.PROFILE_EDIT, P.SEGMENT_EDIT, P.PUSH_COMPOSE},
    # Decides screenshot reviews (which may grant rewards), exports those decisions as labelled
    # examples (to calibrate the verifier); reads campaigns and members.
    Role.REVIEWER: frozenset({P.CAMPAIGN_VIEW, P.REVIEW_DECIDE, P.MEMBER_VIEW, P.STATS_VIEW, P.SCREENSHOT_EXPORT}),
    # Composes and sends pushes, exports member lists.
    Role.PROJECT_MANAGER: _READ | {P.SEGMENT_EDIT, P.PUSH_COMPOSE, P.PUSH_SEND, P.MEMBER_EXPORT},
    Role.ANALYST: _READ,
    # Brands are not per Official Account: these two are granted on "*". Which brands each one sees
    # (their own; a head also their teams') is the brands service's rule, not a grant's.
    Role.ACCOUNT_MANAGER: frozenset({P.BRAND_VIEW, P.BRAND_EDIT}),
    # Hands brands over between managers (BRAND_ASSIGN).
    Role.SALES_HEAD: frozenset({P.BRAND_VIEW, P.BRAND_EDIT, P.BRAND_ASSIGN}),
}


@dataclass(frozen=True, order=True)
class Grant:
    """``role`` on one Official Account (``appid``), or on all of them (``"*"``, admins)."""

    role: Role
    appid: str


@dataclass(frozen=True)
class Identity:
    """Who is making a request, as every route sees it.

    ``name`` is a copy of the operator's name at sign-in (audit entries keep it, so they read well
    after the operator is gone). ``scopes`` narrow an API token to some permissions (``None``: a
    session, bounded by the grants alone).
    """

    actor_id: str
    name: str
    kind: IdentityKind
    grants: frozenset[Grant]
    session_id: str | None = None
    token_id: str | None = None
    scopes: frozenset[Permission] | None = field(default=None)

    @property
    def credential_id(self) -> str | None:
        return self.session_id or self.token_id


def authorize(identity: Identity, permission: Permission, appid: str | None) -> bool:
    """May ``identity`` do ``permission`` on the account ``appid``?

    ``appid=None`` asks about every account at once (routes that are not under one account, like
    operator management): only a grant on ``"*"`` answers that.
    """
    if identity.scopes is not None and permission not in identity.scopes:
        return False
    for grant in identity.grants:
        if permission not in ROLE_PERMISSIONS[grant.role]:
            continue
        if grant.appid == ALL_ACCOUNTS or (appid is not None and grant.appid == appid):
            return True
    return False


def accounts_with(identity: Identity, permission: Permission) -> frozenset[str]:
    """The appids on which ``identity`` may do ``permission`` (``{"*"}`` for all): scope queries to it."""
    if identity.scopes is not None and permission not in identity.scopes:
        return frozenset()
    return frozenset(g.appid for g in identity.grants if permission in ROLE_PERMISSIONS[g.role])


def parse_permissions(values: Iterable[str]) -> frozenset[Permission]:
    """Permissions by name (token scopes), refusing any the platform does not know."""
    known = {p.value for p in Permission}
    unknown = sorted(set(values) - known)
    if unknown:
        raise InvalidIdentityInput(f"unknown permission(s): {', '.join(unknown)}")
    return frozenset(Permission(v) for v in values)
