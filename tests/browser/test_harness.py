"""The browser harness itself, on a page every build serves (the identity API's guarded OpenAPI document):
sessions set through the API reach the browser, problems are caught, broken links found, screenshots
written only when asked."""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path
from typing import Any, cast

import pytest
from playwright.sync_api import BrowserContext, Page, Playwright
from pymongo import AsyncMongoClient

from tests.browser.harness import (
    SCREENSHOTS_ENV,
    ConsoleStack,
    PageProblems,
    assert_no_broken_links,
    launch_chromium,
    run_async,
    screenshot,
    sign_in_via_api,
)


@pytest.fixture(autouse=True)
def _api_pages_have_no_icon(page_problems: PageProblems) -> None:
    """Chromium asks every page's origin for /favicon.ico; an API has none (the console must)."""
    page_problems.allow(r"status of 404 .*/favicon\.ico")


def _open_signed_in(page: Page, browser_context: BrowserContext, console_stack: ConsoleStack) -> str:
    identity = console_stack.urls["identity-api"]
    sign_in_via_api(browser_context, console_stack, "admin")
    response = page.goto(f"{identity}/openapi.json")
    assert response is not None and response.status == 200
    return identity


def test_a_session_made_through_the_api_is_the_browsers_session(
    page: Page, browser_context: BrowserContext, console_stack: ConsoleStack, page_problems: PageProblems
) -> None:
    identity = console_stack.urls["identity-api"]
    page_problems.allow(r"status of 401")  # Chromium reports the refused document as a console error
    refused = page.goto(f"{identity}/openapi.json")
    assert refused is not None and refused.status == 401
    _open_signed_in(page, browser_context, console_stack)
    assert '"openapi"' in page.content()
    me = page.request.get(f"{identity}/auth/me")
    assert me.ok and me.json()["name"] == "admin"


def test_console_errors_page_errors_and_failed_requests_to_our_servers_are_caught(
    page: Page, browser_context: BrowserContext, console_stack: ConsoleStack, page_problems: PageProblems
) -> None:
    identity = _open_signed_in(page, browser_context, console_stack)
    page.route(f"{identity}/gone", lambda route: route.abort())
    page.route(f"{identity}/broken", lambda route: route.fulfill(status=500, body="no"))
    page.route("http://192.0.2.1/**", lambda route: route.abort())  # someone else's: not ours to report
    page.evaluate("console.error('boom in the console')")
    page.evaluate("setTimeout(() => { throw new Error('boom in a handler') }, 0)")
    page.evaluate("fetch('/gone').catch(() => null); fetch('/broken'); fetch('http://192.0.2.1/x').catch(() => null)")
    expected = [
        "console error on .*: boom in the console",
        "page error on .*: boom in a handler",
        f"request failed: GET {identity}/gone: net::ERR_FAILED",
        f"server error: 500 GET {identity}/broken",
    ]

    def seen(pattern: str) -> bool:
        return any(re.match(pattern, problem) for problem in page_problems.problems)

    deadline = time.monotonic() + 10
    while not all(seen(pattern) for pattern in expected) and time.monotonic() < deadline:
        page.wait_for_timeout(50)
    assert [pattern for pattern in expected if not seen(pattern)] == [], page_problems.problems
    # A request to someone else's server is not ours to report as failed (its console line still is:
    # the console vendors every file it loads).
    problems = page_problems.take()
    assert not [p for p in problems if p.startswith("request failed") and "192.0.2.1" in p]
    assert page_problems.unexpected() == []


def test_the_link_walker_follows_our_links_with_the_session_and_names_broken_ones(
    page: Page, browser_context: BrowserContext, console_stack: ConsoleStack
) -> None:
    identity = _open_signed_in(page, browser_context, console_stack)
    links = ["/docs", "/openapi.json#paths", "/auth/logout", "https://example.org/", "/no-such-page"]
    page.set_content("".join(f'<a href="{href}">{href}</a>' for href in links))
    with pytest.raises(AssertionError) as broken:
        assert_no_broken_links(page)
    assert str(broken.value).splitlines()[1:] == [f"404 {identity}/no-such-page"]
    page.evaluate("document.querySelector('a[href=\"/no-such-page\"]').remove()")
    assert assert_no_broken_links(page) == [f"{identity}/docs", f"{identity}/openapi.json"]
    # The walker never signed out (the session still answers).
    assert page.request.get(f"{identity}/auth/me").ok


def test_screenshots_are_written_only_when_asked(
    page: Page, browser_context: BrowserContext, console_stack: ConsoleStack, monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:  # fmt: skip
    _open_signed_in(page, browser_context, console_stack)
    monkeypatch.delenv(SCREENSHOTS_ENV, raising=False)
    assert screenshot(page, "openapi", directory=tmp_path) is None
    monkeypatch.setenv(SCREENSHOTS_ENV, "1")
    written = screenshot(page, "openapi", directory=tmp_path / "docs")
    assert written == tmp_path / "docs" / "openapi.png"
    assert written.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_coroutines_run_beside_the_browser(page: Page, console_stack: ConsoleStack) -> None:
    """Playwright owns this thread's event loop; ``run_async`` runs a coroutine on another thread (the
    stack's operators, read straight from MongoDB while the browser is up)."""
    page.goto(f"{console_stack.console_url}/login")

    async def operator_names() -> list[str]:
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(console_stack.env["MONGODB_URL"])
        try:
            database = client[console_stack.env["MONGODB_DATABASE"]]
            return sorted([doc["name"] async for doc in database["operators"].find({}, {"name": 1})])
        finally:
            await client.close()

    assert run_async(operator_names) == sorted(console_stack.operators)
    refused = operator_names()
    with pytest.raises(RuntimeError, match="running event loop"):
        asyncio.run(refused)  # what run_async is for
    refused.close()


def test_a_missing_chromium_points_at_the_system_package_script(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match=r"make system-deps"):
        launch_chromium(cast(Playwright, object()), tmp_path / "chromium")
