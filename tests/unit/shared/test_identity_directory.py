"""Sign-in, sessions, tokens, CSRF and throttling, through the Directory and in-memory stores."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from shared.identity import (
    CLI_ACTOR,
    AuditQuery,
    CsrfRejected,
    Directory,
    Grant,
    InMemoryAuditLog,
    InMemoryIdentityStore,
    LoginRefused,
    LoginThrottled,
    NotAuthenticated,
    OperatorExists,
    PasswordHasher,
    Permission,
    Role,
)

PASSWORD = "correct horse battery"
START = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)


@dataclass
class Clock:
    now: datetime = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def audit() -> InMemoryAuditLog:
    return InMemoryAuditLog()


@pytest.fixture
async def directory(clock: Clock, audit: InMemoryAuditLog) -> Directory:
    directory = Directory(
        InMemoryIdentityStore(), audit, hasher=PasswordHasher(memory_kib=19 * 1024, time_cost=2), clock=clock
    )
    await directory.create_operator(CLI_ACTOR, "ada", password=PASSWORD)
    await directory.grant(CLI_ACTOR, "ada", "analyst", "wx1")
    return directory


def actions(audit: InMemoryAuditLog) -> list[str]:
    return [e.action for e in audit.entries]


async def test_a_sign_in_opens_a_session_that_resolves_to_the_operator(
    directory: Directory, audit: InMemoryAuditLog
) -> None:
    signed_in = await directory.login("ada", PASSWORD, address="10.0.0.1")
    identity = await directory.authenticate_session(signed_in.secret)
    assert (identity.name, identity.session_id, identity.grants) == (
        "ada",
        signed_in.session.id,
        frozenset({Grant(Role.ANALYST, "wx1")}),
    )
    # Storage holds the secret's digest only.
    assert signed_in.secret not in repr(await directory.store.sessions())
    assert actions(audit)[-1] == "auth.login" and audit.entries[-1].address == "10.0.0.1"


async def test_a_wrong_password_or_unknown_name_is_refused_alike_and_audited(
    directory: Directory, audit: InMemoryAuditLog
) -> None:
    with pytest.raises(LoginRefused) as wrong:
        await directory.login("ada", "not the password")
    with pytest.raises(LoginRefused) as unknown:
        await directory.login("bob", PASSWORD)
    assert str(wrong.value) == str(unknown.value)
    assert actions(audit)[-2:] == ["auth.login_failed", "auth.login_failed"]
    assert PASSWORD not in repr(audit.entries)


async def test_sessions_end_when_idle_too_long(directory: Directory, clock: Clock) -> None:
    signed_in = await directory.login("ada", PASSWORD)
    clock.advance(minutes=29)
    await directory.authenticate_session(signed_in.secret)  # use keeps it alive
    clock.advance(minutes=29)
    await directory.authenticate_session(signed_in.secret)
    clock.advance(minutes=31)
    with pytest.raises(NotAuthenticated, match="expired"):
        await directory.authenticate_session(signed_in.secret)


async def test_sessions_end_after_their_absolute_lifetime_however_busy(directory: Directory, clock: Clock) -> None:
    signed_in = await directory.login("ada", PASSWORD)
    for _ in range(24):
        clock.advance(minutes=29)
        await directory.authenticate_session(signed_in.secret)
    clock.advance(minutes=29)  # 12 h 05 min after sign-in
    with pytest.raises(NotAuthenticated):
        await directory.authenticate_session(signed_in.secret)


async def test_a_revoked_or_signed_out_session_opens_nothing(directory: Directory, audit: InMemoryAuditLog) -> None:
    first = await directory.login("ada", PASSWORD)
    second = await directory.login("ada", PASSWORD)
    assert await directory.revoke_session(CLI_ACTOR, first.session.id)
    with pytest.raises(NotAuthenticated):
        await directory.authenticate_session(first.secret)
    await directory.logout(await directory.authenticate_session(second.secret))
    with pytest.raises(NotAuthenticated):
        await directory.authenticate_session(second.secret)
    assert {"session.revoked", "auth.logout"} <= set(actions(audit))


async def test_cookie_writes_need_the_sessions_csrf_token(directory: Directory) -> None:
    signed_in = await directory.login("ada", PASSWORD)
    await directory.authenticate_session(signed_in.secret, unsafe=False)
    with pytest.raises(CsrfRejected):
        await directory.authenticate_session(signed_in.secret, unsafe=True)
    with pytest.raises(CsrfRejected):
        await directory.authenticate_session(signed_in.secret, csrf_token="forged", unsafe=True)
    other = await directory.login("ada", PASSWORD)
    with pytest.raises(CsrfRejected):  # another session's token is no good either
        await directory.authenticate_session(signed_in.secret, csrf_token=other.session.csrf_token, unsafe=True)
    await directory.authenticate_session(signed_in.secret, csrf_token=signed_in.session.csrf_token, unsafe=True)


async def test_five_failures_lock_the_account_for_fifteen_minutes(directory: Directory, clock: Clock) -> None:
    for _ in range(5):
        with pytest.raises(LoginRefused):
            await directory.login("ada", "wrong password here", address="10.0.0.1")
    with pytest.raises(LoginThrottled):  # the right password too, from anywhere
        await directory.login("ada", PASSWORD, address="10.0.0.2")
    clock.advance(minutes=16)
    await directory.login("ada", PASSWORD, address="10.0.0.2")


async def test_an_address_that_fails_on_many_names_is_locked(directory: Directory) -> None:
    for name in ["a1", "a2", "a3", "a4", "a5"]:
        with pytest.raises(LoginRefused):
            await directory.login(name, "whatever it is", address="10.9.9.9")
    with pytest.raises(LoginThrottled):
        await directory.login("ada", PASSWORD, address="10.9.9.9")
    await directory.login("ada", PASSWORD, address="10.0.0.3")


async def test_a_disabled_operator_cannot_sign_in_and_loses_its_sessions(directory: Directory) -> None:
    signed_in = await directory.login("ada", PASSWORD)
    await directory.set_disabled(CLI_ACTOR, "ada", True)
    with pytest.raises(NotAuthenticated):
        await directory.authenticate_session(signed_in.secret)
    with pytest.raises(LoginRefused):
        await directory.login("ada", PASSWORD)


async def test_a_token_is_shown_once_and_resolves_with_its_scopes(directory: Directory, clock: Clock) -> None:
    whole, record = await directory.create_token(
        CLI_ACTOR, "ada", label="ci", scopes=frozenset({Permission.CAMPAIGN_VIEW})
    )
    listed = await directory.tokens("ada")
    assert [t.id for t in listed] == [record.id] and whole not in repr(listed)
    assert whole.split("_", 2)[2] not in repr(directory.audit_log.entries)  # type: ignore[attr-defined]
    clock.advance(minutes=1)
    identity = await directory.authenticate_token(whole)
    assert (identity.token_id, identity.scopes) == (record.id, frozenset({Permission.CAMPAIGN_VIEW}))
    assert (await directory.tokens("ada"))[0].last_used_at == clock.now


async def test_a_wrong_expired_or_revoked_token_opens_nothing(directory: Directory, clock: Clock) -> None:
    whole, _ = await directory.create_token(CLI_ACTOR, "ada", label="x", expires_at=START + timedelta(days=1))
    with pytest.raises(NotAuthenticated):
        await directory.authenticate_token(whole[:-2] + "zz")
    with pytest.raises(NotAuthenticated):
        await directory.authenticate_token("scrm_nottokenatall")
    clock.advance(days=1)
    with pytest.raises(NotAuthenticated):
        await directory.authenticate_token(whole)
    fresh, fresh_record = await directory.create_token(CLI_ACTOR, "ada", label="y")
    await directory.authenticate_token(fresh)
    await directory.revoke_token(CLI_ACTOR, fresh_record.id)
    with pytest.raises(NotAuthenticated):
        await directory.authenticate_token(fresh)


async def test_a_changed_password_ends_the_other_sessions(directory: Directory) -> None:
    here = await directory.login("ada", PASSWORD)
    elsewhere = await directory.login("ada", PASSWORD)
    identity = await directory.authenticate_session(here.secret)
    with pytest.raises(LoginRefused):
        await directory.change_password(identity, "not the password", "a brand new passphrase")
    await directory.change_password(identity, PASSWORD, "a brand new passphrase")
    await directory.authenticate_session(here.secret)
    with pytest.raises(NotAuthenticated):
        await directory.authenticate_session(elsewhere.secret)
    await directory.login("ada", "a brand new passphrase")


async def test_operator_and_grant_changes_are_audited(directory: Directory, clock: Clock) -> None:
    with pytest.raises(OperatorExists):
        await directory.create_operator(CLI_ACTOR, "ada", password=PASSWORD)
    assert not await directory.grant(CLI_ACTOR, "ada", "analyst", "wx1")  # held already: no entry
    clock.advance(seconds=1)
    assert await directory.revoke(CLI_ACTOR, "ada", "analyst", "wx1")
    entries = await directory.audit_entries(AuditQuery(object_type="operator"))
    assert entries[0].action == "grant.removed"
    assert {e.action for e in entries} == {"grant.removed", "grant.added", "operator.created"}
    assert entries[0].before == {"role": "analyst"} and entries[0].appid == "wx1"
    assert all(e.actor_id == "cli" for e in entries)
