"""Signing in and out, sessions, CSRF and the language: the console against the real identity API."""

from __future__ import annotations

import pytest

from services.console.entrypoints.http.auth import safe_next
from tests.unit.console.conftest import APPID, PASSWORDS, ConsoleUnderTest


async def test_a_page_without_a_session_sends_the_browser_to_sign_in_and_back(console: ConsoleUnderTest) -> None:
    page = await console.client.get(f"/accounts/{APPID}?range=7d")
    assert page.status_code == 303
    assert page.headers["location"] == "/login?next=%2Faccounts%2Fwx1%3Frange%3D7d"
    form = await console.client.get(page.headers["location"])
    assert form.status_code == 200 and 'name="next" value="/accounts/wx1?range=7d"' in form.text


async def test_signing_in_sets_an_http_only_session_cookie_and_goes_on(console: ConsoleUnderTest) -> None:
    answer = await console.client.post(
        "/login", data={"name": "ada", "password": PASSWORDS["ada"], "next": f"/accounts/{APPID}"}
    )
    assert answer.status_code == 303 and answer.headers["location"] == f"/accounts/{APPID}"
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith("scrm_session=") and "HttpOnly" in cookie and "SameSite=lax" in cookie
    overview = await console.client.get(f"/accounts/{APPID}")
    assert overview.status_code == 200 and "ada" in overview.text


async def test_a_wrong_password_is_said_plainly_and_keeps_the_name(console: ConsoleUnderTest) -> None:
    answer = await console.client.post("/login", data={"name": "ada", "password": "not-her-password"})
    assert answer.status_code == 401
    assert "用户名或密码错误" in answer.text and 'value="ada"' in answer.text
    assert "Traceback" not in answer.text and "scrm_session" not in answer.headers.get("set-cookie", "")


async def test_empty_fields_are_refused_before_asking_the_identity_api(console: ConsoleUnderTest) -> None:
    answer = await console.client.post("/login", data={"name": "", "password": ""})
    assert answer.status_code == 422 and "请输入用户名和密码" in answer.text


async def test_repeated_failures_lock_the_name_with_a_readable_wait(console: ConsoleUnderTest) -> None:
    for _ in range(5):
        await console.client.post("/login", data={"name": "otto", "password": "wrong-password-x"})
    locked = await console.client.post("/login", data={"name": "otto", "password": PASSWORDS["otto"]})
    assert locked.status_code == 429 and "分钟后再试" in locked.text


async def test_failures_from_one_browser_do_not_lock_out_another_address(console: ConsoleUnderTest) -> None:
    """The console forwards each browser's address: the identity API throttles per real client, not
    per console (whose address every operator would share)."""
    for _ in range(5):
        await console.client.post(
            "/login", data={"name": f"nobody{_}", "password": "x" * 12}, headers={"X-Forwarded-For": "203.0.113.9"}
        )
    fine = await console.client.post(
        "/login", data={"name": "rita", "password": PASSWORDS["rita"]}, headers={"X-Forwarded-For": "203.0.113.10"}
    )
    assert fine.status_code == 303
    blocked = await console.client.post(
        "/login", data={"name": "ada", "password": PASSWORDS["ada"]}, headers={"X-Forwarded-For": "203.0.113.9"}
    )
    assert blocked.status_code == 429


async def test_signing_out_ends_the_session_on_the_server(console: ConsoleUnderTest) -> None:
    await console.sign_in("ada")
    cookie = console.client.cookies.get("scrm_session")
    token = await console.csrf()
    out = await console.client.post("/logout", data={"csrf_token": token})
    assert out.status_code == 303 and out.headers["location"] == "/login"
    console.client.cookies.set("scrm_session", cookie or "")  # a copy of the old cookie opens nothing
    again = await console.client.get(f"/accounts/{APPID}")
    assert again.status_code == 303 and again.headers["location"].startswith("/login")


async def test_a_write_without_the_csrf_token_is_refused(console: ConsoleUnderTest) -> None:
    await console.sign_in("ada")
    refused = await console.client.post("/logout")
    assert refused.status_code == 403 and "表单已过期" in refused.text
    assert (await console.client.get(f"/accounts/{APPID}")).status_code == 200  # still signed in


async def test_english_is_one_click_away_and_remembered(console: ConsoleUnderTest) -> None:
    await console.sign_in("ada")
    switched = await console.client.get("/lang/en", params={"next": f"/accounts/{APPID}"})
    assert switched.status_code == 303 and switched.headers["location"] == f"/accounts/{APPID}"
    page = await console.client.get(f"/accounts/{APPID}")
    assert '<html lang="en">' in page.text and "Overview" in page.text and "Sign out" in page.text
    await console.client.get("/lang/zh_CN")
    assert "退出登录" in (await console.client.get(f"/accounts/{APPID}")).text


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("/accounts/wx1", "/accounts/wx1"),
        ("//evil.example/x", "/"),
        ("https://evil.example", "/"),
        ("/\\evil.example", "/"),
        ("", "/"),
        (None, "/"),
    ],
)
def test_only_paths_of_the_console_are_followed_after_sign_in(given: str | None, kept: str) -> None:
    assert safe_next(given) == kept


async def test_pages_carry_security_headers(console: ConsoleUnderTest) -> None:
    await console.sign_in("ada")
    page = await console.client.get(f"/accounts/{APPID}")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY" and page.headers["cache-control"] == "no-store"


#: What anyone may reach: the sign-in form, the language switch and the instrumentation.
_OPEN = {("GET", "/login"), ("POST", "/login"), ("GET", "/lang/{locale}")}


def _console_routes() -> list[tuple[str, str]]:
    from services.console.entrypoints.http import create_app
    from services.console.settings import ConsoleSettings

    # The app's own map (FastAPI includes routers lazily, so app.routes does not list them yet).
    paths = create_app(ConsoleSettings(environment="development")).openapi()["paths"]
    return [
        (method.upper(), path)
        for path, operations in paths.items()
        if path not in {"/healthz", "/readyz", "/metrics"}
        for method in operations
    ]


async def test_every_console_route_but_sign_in_needs_a_session(console: ConsoleUnderTest) -> None:
    """Walked from the app's own route table, so a new page cannot be left open: without a session,
    every route sends the browser to sign in (writes are refused before they reach any API)."""
    routes = _console_routes()
    assert len(routes) > 40 and set(routes) >= _OPEN
    for method, path in routes:
        if (method, path) in _OPEN:
            continue
        concrete = path
        for name in ("appid",):
            concrete = concrete.replace("{" + name + "}", APPID)
        concrete = "/".join("x1" if part.startswith("{") else part for part in concrete.split("/"))
        answer = await console.client.request(method, concrete)
        assert answer.status_code == 303, (method, path, answer.status_code)
        assert answer.headers["location"].startswith("/login"), (method, path)
