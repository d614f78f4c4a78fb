"""The signed-in operator as the console sees them: the identity API's ``/auth/me``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from shared.identity import ALL_ACCOUNTS, Grant, Identity, Permission, Role, authorize

__all__ = ["SignedInOperator"]


@dataclass(frozen=True)
class SignedInOperator:
    id: str
    name: str
    grants: frozenset[Grant]
    csrf_token: str
    session_id: str | None = None

    @classmethod
    def from_me(cls, me: Mapping[str, Any]) -> SignedInOperator:
        grants = frozenset(Grant(Role(g["role"]), str(g["appid"])) for g in me.get("grants", ()))
        return cls(
            id=str(me["id"]),
            name=str(me["name"]),
            grants=grants,
            csrf_token=str(me.get("csrf_token") or ""),
            session_id=me.get("session_id"),
        )

    @property
    def identity(self) -> Identity:
        return Identity(actor_id=self.id, name=self.name, kind="operator", grants=self.grants)

    def may(self, permission: Permission, appid: str | None) -> bool:
        return authorize(self.identity, permission, appid)

    @property
    def every_account(self) -> bool:
        return any(g.appid == ALL_ACCOUNTS for g in self.grants)

    def accounts(self, known: Iterable[str]) -> list[str]:
        """The accounts this operator works on: every known one with a ``*`` grant, else their grants'."""
        granted = sorted({g.appid for g in self.grants if g.appid != ALL_ACCOUNTS})
        if self.every_account:
            return sorted(set(known) | set(granted))
        return granted

    def roles_on(self, appid: str) -> list[Role]:
        return sorted({g.role for g in self.grants if g.appid in (appid, ALL_ACCOUNTS)})
