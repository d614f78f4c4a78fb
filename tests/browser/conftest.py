"""Fixtures of the browser tests (marker ``browser``): one platform and one Chromium for the whole
package, a fresh browser context per test, and a ``page`` that fails its test on console errors, page
errors and failed requests to our own servers. See :mod:`tests.browser.harness` for the helpers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from tests.browser.harness import ConsoleStack, PageProblems, launch_chromium, run_console_stack
from tests.conftest import Infra

_HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if _HERE in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="package")
def console_stack(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleStack]:
    """Every process (console included) with one operator per role; see :class:`ConsoleStack`. Tests
    share it: each uses its own campaign, segment and push names."""
    yield from run_console_stack(infra, tmp_path_factory.mktemp("console-stack"))


@pytest.fixture(scope="package")
def chromium(console_stack: ConsoleStack) -> Iterator[Browser]:
    """Debian's headless Chromium under Playwright's sync API. While it runs, this thread counts as
    inside an event loop (Playwright's), so ``asyncio.run`` fails here: the stack is set up first, and
    tests run coroutines through :func:`tests.browser.harness.run_async` (another thread)."""
    with sync_playwright() as playwright:
        try:
            browser = launch_chromium(playwright)
        except RuntimeError as exc:
            pytest.fail(str(exc), pytrace=False)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page_problems(console_stack: ConsoleStack) -> PageProblems:
    """The problems the test's pages ran into; ``allow(pattern)`` expects some, ``take()`` collects them."""
    return PageProblems(console_stack.origins)


@pytest.fixture
def browser_context(chromium: Browser, page_problems: PageProblems) -> Iterator[BrowserContext]:
    """A fresh profile (no cookies) in Beijing time and Chinese, as the console's users have it."""
    context = chromium.new_context(locale="zh-CN", timezone_id="Asia/Shanghai", viewport={"width": 1280, "height": 800})
    context.set_default_timeout(15_000)
    context.on("page", page_problems.watch)
    try:
        yield context
    finally:
        context.close()


@pytest.fixture
def page(browser_context: BrowserContext, page_problems: PageProblems) -> Iterator[Page]:
    page = browser_context.new_page()
    yield page
    unexpected = page_problems.unexpected()
    assert not unexpected, "the browser saw problems:\n" + "\n".join(unexpected)
