"""The identity use cases every process shares: sign-in, resolving a session or token to an
:class:`Identity`, and managing operators, grants, tokens and sessions (each change audited).

The identity API, the CLI and every service's request resolver go through one :class:`Directory`.
"""

from __future__ import annotations

import copy
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.identity._exceptions import (
    CsrfRejected,
    InvalidIdentityInput,
    LoginRefused,
    LoginThrottled,
    NotAuthenticated,
    OperatorNotFound,
    TokenNotFound,
)
from shared.identity._model import Grant, Identity, IdentityKind, Permission, Role
from shared.identity._ports import AuditLog, IdentityStore
from shared.identity._records import ApiToken, AuditEntry, AuditQuery, Operator, Session
from shared.identity._secrets import (
    PasswordHasher,
    digest,
    digests_match,
    new_csrf_token,
    new_session_secret,
    new_token,
    parse_token,
)

__all__ = ["CLI_ACTOR", "Directory", "IdentityPolicy", "SignedIn"]

#: Who changes things from ``scrm operators`` / ``scrm tokens`` (a person at the machine, not signed in).
CLI_ACTOR = Identity("cli", "scrm CLI", "service", frozenset({Grant(Role.ADMIN, "*")}))


@dataclass(frozen=True)
class IdentityPolicy:
    """Session lifetimes and sign-in throttling (OWASP: short idle, bounded absolute)."""

    session_idle: timedelta = timedelta(minutes=30)
    session_absolute: timedelta = timedelta(hours=12)
    max_failures: int = 5
    lock_window: timedelta = timedelta(minutes=15)


@dataclass(frozen=True)
class SignedIn:
    """A new session: ``secret`` goes into the cookie and nowhere else."""

    secret: str
    session: Session
    identity: Identity


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Directory:
    def __init__(
        self,
        store: IdentityStore,
        audit_log: AuditLog,
        *,
        hasher: PasswordHasher | None = None,
        policy: IdentityPolicy | None = None,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.store = store
        self.audit_log = audit_log
        self.hasher = hasher or PasswordHasher()
        self.policy = policy or IdentityPolicy()
        self.clock = clock
        self._address: str | None = None
        self._request_id: str | None = None

    def within(self, *, address: str | None, request_id: str | None) -> Directory:
        """This directory, recording ``address`` and ``request_id`` in the audit entries it writes
        (a request's view of it)."""
        bound = copy.copy(self)
        bound._address, bound._request_id = address, request_id
        return bound

    # -- audit -------------------------------------------------------------------------------------

    async def record(
        self,
        actor: Identity | None,
        action: str,
        object_type: str,
        object_id: str | None = None,
        *,
        appid: str | None = None,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
        address: str | None = None,
        request_id: str | None = None,
    ) -> None:
        await self.audit_log.append(
            AuditEntry(
                at=self.clock(),
                actor_id=actor.actor_id if actor else None,
                actor_name=actor.name if actor else None,
                action=action,
                object_type=object_type,
                object_id=object_id,
                appid=appid,
                credential_id=actor.credential_id if actor else None,
                before=before,
                after=after,
                address=address or self._address,
                request_id=request_id or self._request_id,
            )
        )

    async def audit_entries(self, query: AuditQuery) -> list[AuditEntry]:
        return await self.audit_log.query(query)

    # -- sign-in and resolution ----------------------------------------------------------------------

    async def login(
        self, name: str, password: str, *, address: str | None = None, request_id: str | None = None
    ) -> SignedIn:
        now = self.clock()
        address = address or self._address
        keys = [f"account:{name}"] + ([f"address:{address}"] if address else [])
        since = now - self.policy.lock_window
        for key in keys:
            if await self.store.failures_since(key, since) >= self.policy.max_failures:
                await self.record(
                    None, "auth.login_throttled", "operator", name, address=address, request_id=request_id
                )
                raise LoginThrottled(int(self.policy.lock_window.total_seconds()))
        operator = await self.store.operator_by_name(name)
        usable = operator is not None and not operator.disabled and operator.kind == "operator"
        # Verified even for an unknown name (against a dummy hash), so timing does not tell names apart.
        verified = self.hasher.verify(operator.password_hash if operator else None, password)
        if operator is None or not usable or not verified:
            for key in keys:
                await self.store.record_failure(key, now)
            await self.record(
                None,
                "auth.login_failed",
                "operator",
                operator.id if operator else name,
                address=address,
                request_id=request_id,
            )
            raise LoginRefused
        assert operator.password_hash is not None
        if self.hasher.needs_rehash(operator.password_hash):
            await self.store.set_password_hash(operator.id, self.hasher.hash(password))
        await self.store.clear_failures(f"account:{name}")
        secret = new_session_secret()
        session_digest = digest(secret)
        session = Session(
            id="ses_" + session_digest[:16],
            digest=session_digest,
            operator_id=operator.id,
            csrf_token=new_csrf_token(),
            created_at=now,
            last_seen_at=now,
            address=address,
        )
        await self.store.add_session(session)
        identity = await self._identity(operator, session_id=session.id)
        await self.record(identity, "auth.login", "session", session.id, address=address, request_id=request_id)
        return SignedIn(secret, session, identity)

    async def authenticate_session(
        self, secret: str, *, csrf_token: str | None = None, unsafe: bool = False
    ) -> Identity:
        """The identity of a session cookie; a write (``unsafe``) must carry the session's CSRF token."""
        if not secret or len(secret) > 200:
            raise NotAuthenticated("no valid session")
        session = await self.store.session_by_digest(digest(secret))
        now = self.clock()
        if (
            session is None
            or session.revoked_at is not None
            or now - session.last_seen_at > self.policy.session_idle
            or now - session.created_at > self.policy.session_absolute
        ):
            raise NotAuthenticated("no valid session (signed out or expired)")
        operator = await self.store.operator_by_id(session.operator_id)
        if operator is None or operator.disabled:
            raise NotAuthenticated("no valid session")
        if unsafe and not (csrf_token and secrets.compare_digest(csrf_token.encode(), session.csrf_token.encode())):
            raise CsrfRejected
        await self.store.touch_session(session.id, now)
        return await self._identity(operator, session_id=session.id)

    async def session_csrf_token(self, secret: str) -> str | None:
        session = await self.store.session_by_digest(digest(secret))
        return None if session is None else session.csrf_token

    async def authenticate_token(self, token: str) -> Identity:
        parts = parse_token(token)
        record = await self.store.token_by_id(parts.token_id) if parts else None
        now = self.clock()
        if (
            parts is None
            or record is None
            or not digests_match(parts.secret, record.digest)
            or record.revoked_at is not None
            or (record.expires_at is not None and now >= record.expires_at)
        ):
            raise NotAuthenticated("invalid, expired or revoked API token")
        operator = await self.store.operator_by_id(record.operator_id)
        if operator is None or operator.disabled:
            raise NotAuthenticated("invalid, expired or revoked API token")
        await self.store.touch_token(record.id, now)
        return await self._identity(operator, token_id=record.id, scopes=record.scopes)

    async def _identity(
        self,
        operator: Operator,
        *,
        session_id: str | None = None,
        token_id: str | None = None,
        scopes: frozenset[Permission] | None = None,
    ) -> Identity:
        grants = await self.store.grants_of(operator.id)
        return Identity(operator.id, operator.name, operator.kind, grants, session_id, token_id, scopes)

    async def logout(self, identity: Identity, *, address: str | None = None) -> None:
        if identity.session_id and await self.store.revoke_session(identity.session_id, self.clock()):
            await self.record(identity, "auth.logout", "session", identity.session_id, address=address)

    async def change_password(self, identity: Identity, current: str, new: str) -> None:
        operator = await self.store.operator_by_id(identity.actor_id)
        if operator is None or not self.hasher.verify(operator.password_hash, current):
            await self.record(identity, "auth.password_change_refused", "operator", identity.actor_id)
            raise LoginRefused
        await self.store.set_password_hash(operator.id, self.hasher.hash(new))
        # Every other session of the operator ends: a changed password shuts out whoever had the old one.
        for session in await self.store.sessions(operator.id):
            if session.id != identity.session_id:
                await self.store.revoke_session(session.id, self.clock())
        await self.record(identity, "auth.password_changed", "operator", operator.id)

    # -- operators and grants ----------------------------------------------------------------------

    async def create_operator(
        self, actor: Identity, name: str, *, password: str | None, kind: IdentityKind = "operator"
    ) -> Operator:
        name = name.strip()
        if not name or len(name) > 64 or not name.isprintable():
            raise InvalidIdentityInput("an operator name is 1 to 64 printable characters")
        if kind == "operator" and password is None:
            raise InvalidIdentityInput("a person signs in with a password")
        password_hash = self.hasher.hash(password) if password is not None else None
        operator = Operator("op_" + secrets.token_hex(8), name, kind, password_hash, self.clock())
        await self.store.add_operator(operator)
        await self.record(actor, "operator.created", "operator", operator.id, after={"name": name, "kind": kind})
        return operator

    async def operator(self, ref: str) -> Operator:
        """An operator by id or by name."""
        found = await self.store.operator_by_id(ref) or await self.store.operator_by_name(ref)
        if found is None:
            raise OperatorNotFound(f"no operator {ref!r}")
        return found

    async def operators(self) -> list[tuple[Operator, frozenset[Grant]]]:
        return [(o, await self.store.grants_of(o.id)) for o in await self.store.list_operators()]

    async def set_disabled(self, actor: Identity, ref: str, disabled: bool) -> Operator:
        operator = await self.operator(ref)
        await self.store.set_disabled(operator.id, disabled)
        if disabled:
            await self.store.revoke_sessions_of(operator.id, self.clock())
        await self.record(
            actor,
            "operator.disabled" if disabled else "operator.enabled",
            "operator",
            operator.id,
            before={"disabled": operator.disabled},
            after={"disabled": disabled},
        )
        return await self.operator(operator.id)

    async def grant(self, actor: Identity, ref: str, role: str, appid: str) -> bool:
        operator = await self.operator(ref)
        grant = _grant(role, appid)
        added = await self.store.add_grant(operator.id, grant)
        if added:
            await self.record(
                actor, "grant.added", "operator", operator.id, appid=grant.appid, after={"role": grant.role.value}
            )
        return added

    async def revoke(self, actor: Identity, ref: str, role: str, appid: str) -> bool:
        operator = await self.operator(ref)
        grant = _grant(role, appid)
        removed = await self.store.remove_grant(operator.id, grant)
        if removed:
            await self.record(
                actor, "grant.removed", "operator", operator.id, appid=grant.appid, before={"role": grant.role.value}
            )
        return removed

    # -- tokens and sessions ------------------------------------------------------------------------

    async def create_token(
        self,
        actor: Identity,
        ref: str,
        *,
        label: str,
        scopes: frozenset[Permission] | None = None,
        expires_at: datetime | None = None,
    ) -> tuple[str, ApiToken]:
        """A new token for an operator: the whole token is returned here, once, and never again."""
        operator = await self.operator(ref)
        whole, parts = new_token()
        record = ApiToken(parts.token_id, digest(parts.secret), operator.id, label, scopes, self.clock(), expires_at)
        await self.store.add_token(record)
        await self.record(
            actor,
            "token.created",
            "api_token",
            record.id,
            after={
                "operator_id": operator.id,
                "label": label,
                "scopes": None if scopes is None else sorted(s.value for s in scopes),
                "expires_at": expires_at.isoformat() if expires_at else None,
            },
        )
        return whole, record

    async def tokens(self, operator_ref: str | None = None) -> list[ApiToken]:
        operator_id = (await self.operator(operator_ref)).id if operator_ref else None
        return await self.store.tokens(operator_id)

    async def revoke_token(self, actor: Identity, token_id: str) -> None:
        if await self.store.token_by_id(token_id) is None:
            raise TokenNotFound(f"no API token {token_id!r}")
        if await self.store.revoke_token(token_id, self.clock()):
            await self.record(actor, "token.revoked", "api_token", token_id)

    async def sessions(self, operator_ref: str | None = None) -> list[Session]:
        operator_id = (await self.operator(operator_ref)).id if operator_ref else None
        return await self.store.sessions(operator_id)

    async def revoke_session(self, actor: Identity, session_id: str) -> bool:
        revoked = await self.store.revoke_session(session_id, self.clock())
        if revoked:
            await self.record(actor, "session.revoked", "session", session_id)
        return revoked


def _grant(role: str, appid: str) -> Grant:
    try:
        parsed = Role(role)
    except ValueError:
        raise InvalidIdentityInput(f"unknown role {role!r} (one of {', '.join(r.value for r in Role)})") from None
    if not appid or len(appid) > 64 or not appid.isascii():
        raise InvalidIdentityInput("a grant names an appid, or '*' for every account")
    return Grant(parsed, appid)
