"""Who may do what on which account: the whole table, role by permission by account."""

from __future__ import annotations

import pytest

from shared.identity import (
    ROLE_PERMISSIONS,
    Grant,
    Identity,
    InvalidIdentityInput,
    Permission,
    Role,
    accounts_with,
    authorize,
    parse_permissions,
)

OWN, OTHER = "wx_own", "wx_other"

#: The table the issue asks for, written out independently of ROLE_PERMISSIONS.
ALLOWED: dict[Role, set[str]] = {
    Role.ADMIN: {p.value for p in Permission},
    Role.CAMPAIGN_OPERATOR: {
        "campaign:view",
        "campaign:edit",
        "campaign:launch",
        "member:view",
        "profile:edit",
        "segment:view",
        "segment:edit",
        "push:view",
        "push:compose",
        "stats:view",
    },
    Role.REVIEWER: {"campaign:view", "review:decide", "member:view", "stats:view", "screenshot:export"},
    Role.PROJECT_MANAGER: {
        "campaign:view",
        "member:view",
        "member:export",
        "segment:view",
        "segment:edit",
        "push:view",
        "push:compose",
        "push:send",
        "stats:view",
    },
    Role.ANALYST: {"campaign:view", "member:view", "segment:view", "push:view", "stats:view"},
    Role.ACCOUNT_MANAGER: {"brand:view", "brand:edit"},
    Role.SALES_HEAD: {"brand:view", "brand:edit", "brand:assign"},
}


def identity(*grants: Grant, scopes: frozenset[Permission] | None = None) -> Identity:
    return Identity("op_1", "Ada", "operator", frozenset(grants), scopes=scopes)


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("permission", list(Permission))
def test_every_role_and_permission_on_its_own_and_another_account(role: Role, permission: Permission) -> None:
    caller = identity(Grant(role, OWN))
    assert authorize(caller, permission, OWN) is (permission.value in ALLOWED[role])
    assert authorize(caller, permission, OTHER) is False
    # A route under no account asks about every account: a grant on one is not enough.
    assert authorize(caller, permission, None) is False


@pytest.mark.parametrize("permission", list(Permission))
def test_a_grant_on_every_account_holds_everywhere(permission: Permission) -> None:
    admin = identity(Grant(Role.ADMIN, "*"))
    assert authorize(admin, permission, OWN) and authorize(admin, permission, OTHER)
    assert authorize(admin, permission, None)


def test_nothing_is_allowed_without_a_grant() -> None:
    assert not any(authorize(identity(), p, OWN) for p in Permission)


def test_sending_and_exporting_are_not_editing() -> None:
    for role, permissions in ROLE_PERMISSIONS.items():
        if Permission.PUSH_SEND in permissions or Permission.MEMBER_EXPORT in permissions:
            assert role in {Role.ADMIN, Role.PROJECT_MANAGER}
    assert Permission.PUSH_SEND not in ROLE_PERMISSIONS[Role.CAMPAIGN_OPERATOR]
    assert not any(p.value.endswith((":edit", ":send", ":decide", ":manage")) for p in ROLE_PERMISSIONS[Role.ANALYST])


def test_token_scopes_narrow_the_grants() -> None:
    scoped = identity(Grant(Role.ADMIN, "*"), scopes=frozenset({Permission.CAMPAIGN_VIEW}))
    assert authorize(scoped, Permission.CAMPAIGN_VIEW, OWN)
    assert not authorize(scoped, Permission.CAMPAIGN_EDIT, OWN)
    # Scopes never widen: a scope the grants do not hold gives nothing.
    analyst = identity(Grant(Role.ANALYST, OWN), scopes=frozenset({Permission.PUSH_SEND}))
    assert not authorize(analyst, Permission.PUSH_SEND, OWN)


def test_the_accounts_a_caller_may_see() -> None:
    caller = identity(Grant(Role.ANALYST, OWN), Grant(Role.REVIEWER, OTHER))
    assert accounts_with(caller, Permission.MEMBER_VIEW) == {OWN, OTHER}
    assert accounts_with(caller, Permission.REVIEW_DECIDE) == {OTHER}
    assert accounts_with(caller, Permission.PUSH_SEND) == frozenset()


def test_scopes_are_parsed_by_name() -> None:
    assert parse_permissions(["push:send"]) == {Permission.PUSH_SEND}
    with pytest.raises(InvalidIdentityInput, match="everything:all"):
        parse_permissions(["everything:all"])
