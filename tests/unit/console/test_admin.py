"""Administration pages over the real identity API: operators and grants, tokens, sessions, the audit log."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta

import pytest

from services.console.domain.formatting import BEIJING
from shared.identity import CLI_ACTOR, AuditQuery, Identity, NotAuthenticated, OperatorNotFound
from tests.unit.console.conftest import APPID, PASSWORDS, ConsoleUnderTest


async def _as(console: ConsoleUnderTest, name: str) -> str:
    """Signed in as ``name``; the page's CSRF token."""
    signed = await console.sign_in(name)
    assert signed.status_code == 303
    return await console.csrf()


async def _operator_id(console: ConsoleUnderTest, name: str) -> str:
    return (await console.directory.operator(name)).id


async def _entries(console: ConsoleUnderTest, action: str, appid: str | None = None) -> list[str]:
    found = await console.directory.audit_entries(AuditQuery(action=action, appid=appid))
    return [e.object_id or "" for e in found]


# ---- operators ------------------------------------------------------------------------------------------


async def test_the_operators_page_lists_everyone_with_kind_status_grants_and_the_permission_matrix(
    console: ConsoleUnderTest,
) -> None:
    await _as(console, "ada")
    page = await console.client.get("/admin/operators")
    assert page.status_code == 200
    for name in ("ada", "rita", "otto"):
        assert f'data-testid="operator-{name}"' in page.text
    assert 'data-testid="grant-reviewer-wx1"' in page.text and 'data-testid="grant-admin-*"' in page.text
    assert "审核员" in page.text and "全部公众号" in page.text  # role label, "*" shown as every account
    assert 'data-testid="permission-matrix"' in page.text and "operator:manage" in page.text
    assert 'minlength="12"' in page.text and "至少 12 个字符" in page.text
    assert '<script src="/static/admin.js"' in page.text


async def test_creating_a_person_then_a_service_account(console: ConsoleUnderTest) -> None:
    token = await _as(console, "ada")
    made = await console.client.post(
        "/admin/operators",
        data={"csrf_token": token, "name": "paula", "kind": "operator", "password": "paula-password-1"},
    )
    assert made.status_code == 303 and made.headers["location"].startswith("/admin/operators?done=operator_created")
    page = await console.client.get(made.headers["location"])
    assert 'data-testid="operator-paula"' in page.text and "操作员已创建" in page.text
    assert (await console.directory.operator("paula")).kind == "operator"

    service = await console.client.post(
        "/admin/operators", data={"csrf_token": token, "name": "mall-sync", "kind": "service", "password": ""}
    )
    assert service.status_code == 303
    assert (await console.directory.operator("mall-sync")).kind == "service"
    assert await _operator_id(console, "mall-sync") in await _entries(console, "operator.created")


async def test_a_short_password_is_refused_by_the_api_and_shown_by_the_field(console: ConsoleUnderTest) -> None:
    token = await _as(console, "ada")
    refused = await console.client.post(
        "/admin/operators", data={"csrf_token": token, "name": "shorty", "kind": "operator", "password": "short"}
    )
    assert refused.status_code == 422
    assert "at least 12 characters" in refused.text and 'value="shorty"' in refused.text
    assert 'class="field-error"' in refused.text


async def test_a_taken_name_is_a_conflict_shown_on_the_form(console: ConsoleUnderTest) -> None:
    token = await _as(console, "ada")
    refused = await console.client.post(
        "/admin/operators", data={"csrf_token": token, "name": "rita", "kind": "operator", "password": "x" * 12}
    )
    assert refused.status_code == 409 and "与当前状态冲突" in refused.text


async def test_disabling_ends_the_operators_sessions_and_enabling_brings_them_back(console: ConsoleUnderTest) -> None:
    token = await _as(console, "ada")
    rita = await _operator_id(console, "rita")
    signed = await console.directory.login("rita", PASSWORDS["rita"])
    off = await console.client.post(f"/admin/operators/{rita}/disable", data={"csrf_token": token})
    assert off.status_code == 303 and "done=operator_disabled" in off.headers["location"]
    assert (await console.directory.operator("rita")).disabled
    with pytest.raises(NotAuthenticated):
        await console.directory.authenticate_session(signed.secret)
    page = await console.client.get("/admin/operators")
    row = page.text[page.text.index('data-testid="operator-rita"') :]
    assert "已停用" in row[: row.index("</tr>")]
    on = await console.client.post(f"/admin/operators/{rita}/enable", data={"csrf_token": token})
    assert on.status_code == 303 and not (await console.directory.operator("rita")).disabled


async def test_granting_and_taking_away_a_role(console: ConsoleUnderTest) -> None:
    token = await _as(console, "ada")
    otto = await _operator_id(console, "otto")
    granted = await console.client.post(
        f"/admin/operators/{otto}/grants", data={"csrf_token": token, "role": "analyst", "appid": "wx2"}
    )
    assert granted.status_code == 303
    page = await console.client.get("/admin/operators")
    assert 'data-testid="grant-analyst-wx2"' in page.text
    removed = await console.client.post(
        f"/admin/operators/{otto}/grants/remove", data={"csrf_token": token, "role": "analyst", "appid": "wx2"}
    )
    assert removed.status_code == 303
    page = await console.client.get("/admin/operators")
    assert 'data-testid="grant-analyst-wx2"' not in page.text
    assert await _entries(console, "grant.added", "wx2") == [otto]
    assert await _entries(console, "grant.removed", "wx2") == [otto]


async def test_an_account_someone_holds_a_role_on_can_be_granted_though_the_console_does_not_list_it(
    console: ConsoleUnderTest,
) -> None:
    await console.directory.grant(CLI_ACTOR, "rita", "reviewer", "wx9")
    await _as(console, "ada")
    page = await console.client.get("/admin/operators")
    otto = page.text[page.text.index('data-testid="operator-otto"') :]
    account_select = otto[otto.index('data-testid="grant-account"') :]
    account_select = account_select[: account_select.index("</select>")]
    assert '<option value="wx1">贝贝母婴 (wx1)</option>' in account_select
    assert '<option value="wx9">wx9</option>' in account_select and '<option value="*">' in account_select
    audit = await console.client.get("/admin/audit", params={"appid": "wx9"})
    assert '<option value="wx9" selected>' in audit.text


async def test_an_unknown_role_is_refused_with_the_reason(console: ConsoleUnderTest) -> None:
    token = await _as(console, "ada")
    otto = await _operator_id(console, "otto")
    refused = await console.client.post(
        f"/admin/operators/{otto}/grants", data={"csrf_token": token, "role": "superuser", "appid": "wx2"}
    )
    assert refused.status_code == 422 and "superuser" in refused.text and 'data-testid="operators"' in refused.text


async def test_a_non_admin_sees_no_administration_and_the_api_refuses_them(console: ConsoleUnderTest) -> None:
    token = await _as(console, "otto")
    overview = await console.client.get(f"/accounts/{APPID}")
    assert 'href="/admin/operators"' not in overview.text
    page = await console.client.get("/admin/operators")
    assert page.status_code == 403 and "你没有执行此操作的权限" in page.text
    assert "operator:manage" in page.text  # the API's own reason
    # A hand-made request is refused by the API too, not only hidden by the console.
    forced = await console.client.post(
        "/admin/operators", data={"csrf_token": token, "name": "sneaky", "kind": "service"}
    )
    assert forced.status_code == 403
    with pytest.raises(OperatorNotFound):
        await console.directory.operator("sneaky")
    for path in ("/admin/tokens", "/admin/sessions", "/admin/audit", "/admin/audit/export.csv"):
        assert (await console.client.get(path)).status_code == 403, path


async def test_writes_without_the_csrf_token_are_refused(console: ConsoleUnderTest) -> None:
    await _as(console, "ada")
    otto = await _operator_id(console, "otto")
    refused = await console.client.post(f"/admin/operators/{otto}/disable")
    assert refused.status_code == 403 and not (await console.directory.operator("otto")).disabled


# ---- API tokens -----------------------------------------------------------------------------------------


async def test_a_new_token_is_shown_once_with_a_copy_button_and_works_within_its_scopes(
    console: ConsoleUnderTest,
) -> None:
    csrf = await _as(console, "ada")
    otto = await _operator_id(console, "otto")
    form = await console.client.get("/admin/tokens")
    assert form.status_code == 200 and 'data-testid="scope-campaign:view"' in form.text and "otto" in form.text
    made = await console.client.post(
        "/admin/tokens",
        data={
            "csrf_token": csrf,
            "operator": otto,
            "label": "nightly-export",
            "scopes": ["campaign:view", "stats:view"],
            "expires_in_days": "30",
        },
    )
    assert made.status_code == 201
    secret = re.search(r'value="(scrm_[^"]+)"', made.text)
    assert secret and secret.group(1)
    whole = secret.group(1)
    assert "只显示这一次" in made.text and 'data-copy="#new-token"' in made.text

    identity = await console.directory.authenticate_token(whole)
    assert identity.actor_id == otto
    assert identity.scopes is not None and {s.value for s in identity.scopes} == {"campaign:view", "stats:view"}

    listed = await console.client.get("/admin/tokens")
    assert "nightly-export" in listed.text and whole not in listed.text and "scrm_" not in listed.text
    token_id = (await console.directory.tokens("otto"))[0].id
    row = listed.text[listed.text.index(f'data-testid="token-{token_id}"') :]
    row = row[: row.index("</tr>")]
    assert "otto" in row and "campaign:view" in row and "stats:view" in row and "有效" in row
    expires = (await console.directory.tokens("otto"))[0].expires_at
    assert expires is not None and timedelta(days=29) < expires - datetime.now(UTC) <= timedelta(days=30)


async def test_no_scope_ticked_means_the_operators_roles_and_an_empty_expiry_the_default(
    console: ConsoleUnderTest,
) -> None:
    csrf = await _as(console, "ada")
    made = await console.client.post(
        "/admin/tokens", data={"csrf_token": csrf, "operator": "rita", "label": "ci", "expires_in_days": ""}
    )
    assert made.status_code == 201
    token = (await console.directory.tokens("rita"))[0]
    assert token.scopes is None and token.expires_at is not None
    assert timedelta(days=89) < token.expires_at - datetime.now(UTC) <= timedelta(days=90)


async def test_a_bad_token_form_is_shown_again_with_the_reasons(console: ConsoleUnderTest) -> None:
    csrf = await _as(console, "ada")
    days = await console.client.post(
        "/admin/tokens",
        data={"csrf_token": csrf, "operator": "rita", "label": "ci", "expires_in_days": "99999"},
    )
    assert days.status_code == 422 and 'class="field-error"' in days.text and 'value="ci"' in days.text
    assert "scrm_" not in days.text
    unknown = await console.client.post(
        "/admin/tokens", data={"csrf_token": csrf, "operator": "nobody", "label": "ci", "expires_in_days": "7"}
    )
    assert unknown.status_code == 404 and "nobody" in unknown.text


async def test_revoking_a_token_stops_it(console: ConsoleUnderTest) -> None:
    csrf = await _as(console, "ada")
    whole, record = await console.directory.create_token(CLI_ACTOR, "otto", label="old-script")
    revoked = await console.client.post(f"/admin/tokens/{record.id}/revoke", data={"csrf_token": csrf})
    assert revoked.status_code == 303 and "done=token_revoked" in revoked.headers["location"]
    with pytest.raises(NotAuthenticated):
        await console.directory.authenticate_token(whole)
    page = await console.client.get(revoked.headers["location"])
    row = page.text[page.text.index(f'data-testid="token-{record.id}"') :]
    assert "已撤销" in row[: row.index("</tr>")] and 'data-testid="revoke-token"' not in row[: row.index("</tr>")]


# ---- sessions -------------------------------------------------------------------------------------------


async def test_open_sessions_are_listed_and_one_can_be_ended(console: ConsoleUnderTest) -> None:
    csrf = await _as(console, "ada")
    rita = await console.directory.login("rita", PASSWORDS["rita"], address="198.51.100.7")
    page = await console.client.get("/admin/sessions")
    assert page.status_code == 200
    row = page.text[page.text.index(f'data-testid="session-{rita.session.id}"') :]
    row = row[: row.index("</tr>")]
    assert "rita" in row and "198.51.100.7" in row
    assert "当前会话" in page.text  # ada's own is marked
    ended = await console.client.post(f"/admin/sessions/{rita.session.id}/end", data={"csrf_token": csrf})
    assert ended.status_code == 303 and ended.headers["location"] == "/admin/sessions?done=session_ended"
    with pytest.raises(NotAuthenticated):
        await console.directory.authenticate_session(rita.secret)
    assert rita.session.id in await _entries(console, "session.revoked")


async def test_ending_ones_own_session_signs_out(console: ConsoleUnderTest) -> None:
    csrf = await _as(console, "ada")
    me = (await console.directory.sessions("ada"))[0]
    ended = await console.client.post(f"/admin/sessions/{me.id}/end", data={"csrf_token": csrf})
    assert ended.status_code == 303 and ended.headers["location"] == "/login"
    assert (await console.client.get("/admin/sessions")).status_code == 303


# ---- the audit log --------------------------------------------------------------------------------------


async def _seed_entries(console: ConsoleUnderTest) -> None:
    ada = Identity(actor_id=await _operator_id(console, "ada"), name="ada", kind="operator", grants=frozenset())
    record = console.directory.record
    await record(ada, "campaign.edited", "campaign", "c1", appid=APPID, before={"name": "Spring", "caps": {"daily": 3}},
                 after={"name": "Spring sale", "caps": {"daily": 5}, "tiers": 2})  # fmt: skip
    await record(ada, "campaign.edited", "campaign", "c2", appid="wx2", before={"name": "=cmd()"}, after={"name": "+x"})
    await record(ada, "push.sent", "push", "p1", appid=APPID, address="203.0.113.5", request_id="req-123")


async def test_the_audit_log_shows_each_entry_with_a_readable_before_and_after(console: ConsoleUnderTest) -> None:
    await _as(console, "ada")
    await _seed_entries(console)
    page = await console.client.get("/admin/audit")
    assert page.status_code == 200 and page.text.count('data-testid="audit-entry"') >= 3
    blocks = page.text.split("<details")
    c1 = next(b for b in blocks if "<code>c1</code>" in b)
    assert "<code>caps.daily</code>" in c1 and "3" in c1 and "5" in c1
    assert "<code>name</code>" in c1 and "Spring sale" in c1 and "<code>tiers</code>" in c1
    assert "3 项变更" in c1 and "贝贝母婴" in c1
    pushed = next(b for b in blocks if 'data-action="push.sent"' in b)
    assert "203.0.113.5" in pushed and "req-123" in pushed and "ada" in pushed
    rita = await _operator_id(console, "rita")
    assert f"<strong>rita</strong> <code>{rita}</code>" in page.text  # objects that are operators are named


async def test_filters_are_passed_to_the_api_and_kept_in_the_url(console: ConsoleUnderTest) -> None:
    await _as(console, "ada")
    await _seed_entries(console)
    ada = await _operator_id(console, "ada")
    page = await console.client.get(
        "/admin/audit",
        params={"actor_id": ada, "appid": APPID, "action": "campaign.edited", "object_type": "campaign"},
    )
    assert page.text.count('data-testid="audit-entry"') == 1 and "<code>c1</code>" in page.text
    assert 'value="campaign.edited"' in page.text and f'<option value="{APPID}" selected' in page.text
    assert f"/admin/audit/export.csv?actor_id={ada}&amp;appid={APPID}&amp;action=campaign.edited" in page.text
    by_object = await console.client.get("/admin/audit", params={"object_id": "p1"})
    assert by_object.text.count('data-testid="audit-entry"') == 1 and 'data-action="push.sent"' in by_object.text
    nothing = await console.client.get("/admin/audit", params={"action": "nothing.happened"})
    assert 'data-testid="audit-empty"' in nothing.text and "没有符合" in nothing.text


async def test_since_and_until_are_beijing_time_sent_to_the_api_in_utc(console: ConsoleUnderTest) -> None:
    await _as(console, "ada")
    await _seed_entries(console)
    now = datetime.now(BEIJING).replace(second=0, microsecond=0)
    minute = timedelta(minutes=1)
    shown = await console.client.get(
        "/admin/audit", params={"action": "push.sent", "since": (now - minute).strftime("%Y-%m-%dT%H:%M")}
    )
    assert shown.text.count('data-testid="audit-entry"') == 1  # read as UTC it would be 8 hours ahead: nothing
    later = await console.client.get(
        "/admin/audit", params={"action": "push.sent", "since": (now + 2 * minute).strftime("%Y-%m-%dT%H:%M")}
    )
    assert later.text.count('data-testid="audit-entry"') == 0
    before = await console.client.get(
        "/admin/audit", params={"action": "push.sent", "until": (now - minute).strftime("%Y-%m-%dT%H:%M")}
    )
    assert before.text.count('data-testid="audit-entry"') == 0
    bad = await console.client.get("/admin/audit", params={"since": "yesterday-ish"})
    assert bad.status_code == 422 and 'class="field-error"' in bad.text


async def test_more_asks_for_a_longer_page(console: ConsoleUnderTest) -> None:
    await _as(console, "ada")
    await _seed_entries(console)
    page = await console.client.get("/admin/audit", params={"object_type": "campaign", "limit": 1})
    assert page.text.count('data-testid="audit-entry"') == 1
    more = re.search(r'href="(/admin/audit\?[^"]+)" data-testid="audit-more"', page.text)
    assert more and "limit=51" in more.group(1) and "object_type=campaign" in more.group(1)
    longer = await console.client.get(more.group(1).replace("&amp;", "&"))
    assert longer.text.count('data-testid="audit-entry"') == 2 and 'data-testid="audit-more"' not in longer.text


async def test_export_gives_the_filtered_entries_as_csv(console: ConsoleUnderTest) -> None:
    await _as(console, "ada")
    await _seed_entries(console)
    answer = await console.client.get("/admin/audit/export.csv", params={"action": "campaign.edited"})
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    assert "attachment" in answer.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(answer.content.decode("utf-8-sig"))))
    assert [r["object_id"] for r in rows] == ["c2", "c1"]
    assert {r["action"] for r in rows} == {"campaign.edited"} and rows[1]["appid"] == APPID
    assert rows[0]["before"].startswith("{") and "=cmd()" in rows[0]["before"]
    assert rows[1]["time_beijing"] and rows[1]["actor_name"] == "ada"


async def test_an_admin_of_one_account_reads_that_accounts_entries_only(console: ConsoleUnderTest) -> None:
    await console.directory.create_operator(CLI_ACTOR, "wanda", password="wanda-password-1")
    await console.directory.grant(CLI_ACTOR, "wanda", "admin", APPID)
    await _seed_entries(console)
    signed = await console.client.post("/login", data={"name": "wanda", "password": "wanda-password-1"})
    assert signed.status_code == 303
    overview = await console.client.get(f"/accounts/{APPID}")
    assert 'href="/admin/audit"' in overview.text and 'href="/admin/operators"' not in overview.text
    page = await console.client.get("/admin/audit")
    assert page.status_code == 200
    assert "<code>c1</code>" in page.text and "<code>c2</code>" not in page.text
    assert 'data-action="operator.created"' not in page.text  # no account: for admins of every account
    assert 'name="actor_id" value=""' in page.text  # no operator list for them: the id is typed
    assert await _entries(console, "permission.denied") == []  # the console asked nothing it may not
    refused = await console.client.get("/admin/audit", params={"appid": "wx2"})
    assert refused.status_code == 403 and "audit:view" in refused.text
    assert (await console.client.get("/admin/operators")).status_code == 403


async def test_pages_without_a_session_go_to_sign_in(console: ConsoleUnderTest) -> None:
    for path in ("/admin/operators", "/admin/tokens", "/admin/sessions", "/admin/audit"):
        answer = await console.client.get(path)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/login?next="), path


async def test_an_operators_row_links_to_their_activity_tokens_and_sessions(console: ConsoleUnderTest) -> None:
    await _as(console, "ada")
    rita = await _operator_id(console, "rita")
    await console.directory.create_token(CLI_ACTOR, "rita", label="ritas-script")
    await console.directory.create_token(CLI_ACTOR, "otto", label="ottos-script")
    await console.directory.login("rita", PASSWORDS["rita"])
    page = await console.client.get("/admin/operators")
    for link in (f"/admin/audit?actor_id={rita}", f"/admin/tokens?operator={rita}", f"/admin/sessions?operator={rita}"):
        assert f'href="{link}"' in page.text
    tokens = await console.client.get("/admin/tokens", params={"operator": rita})
    assert "ritas-script" in tokens.text and "ottos-script" not in tokens.text
    assert 'data-testid="operator-filter"' in tokens.text and f'<option value="{rita}" selected>' in tokens.text
    sessions = await console.client.get("/admin/sessions", params={"operator": rita})
    assert sessions.text.count('data-testid="session-') == 1 and "当前会话" not in sessions.text
    activity = await console.client.get("/admin/audit", params={"actor_id": rita})
    assert f'<option value="{rita}" selected>' in activity.text
    assert activity.text.count('data-testid="audit-entry"') == 1 and 'data-action="auth.login"' in activity.text


async def test_the_pages_speak_english_when_asked(console: ConsoleUnderTest) -> None:
    await _as(console, "ada")
    console.client.cookies.set("scrm_lang", "en")
    operators = await console.client.get("/admin/operators")
    assert "New operator" in operators.text and "Reviewer" in operators.text and "every account" in operators.text
    audit = await console.client.get("/admin/audit")
    assert "From (Beijing time)" in audit.text and "Export CSV" in audit.text
