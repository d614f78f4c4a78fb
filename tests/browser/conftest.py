"""Fixtures of the browser tests (marker ``browser``): one platform and one Chromium for the whole
package, a fresh browser context per test, and a ``page`` that fails its test on console errors, page
errors and failed requests to our own servers. See :mod:`tests.browser.harness` for the helpers."""

from __future__ import annotations

from collections.abc import Generator, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from scrm_dev.up import SignIn
from tests.browser.harness import ConsoleStack, PageProblems, launch_chromium, run_console_stack
from tests.conftest import SETTINGS_ENV, Infra
from tests.e2e.campaign_stack import create_operator

_HERE = Path(__file__).parent
#: Who works on brands (the business view), beside the stack's one operator per role: their roles are
#: granted on every account, since brands are not per Official Account.
BRAND_OPERATORS = (("brand-manager", "account_manager"), ("sales-head", "sales_head"))
_CALL_REPORT = pytest.StashKey[pytest.TestReport]()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if _HERE in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="package")
def console_stack(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleStack]:
    """Every process (console included) with one operator per role; see :class:`ConsoleStack`. Tests
    share it: each uses its own campaign, segment and push names."""
    home = tmp_path_factory.mktemp("console-stack")
    with pytest.MonkeyPatch.context() as patch:
        # As clean_environ does for each test, for the processes started here: no developer's shell
        # settings or ./.env reach them.
        patch.chdir(home)
        for name in SETTINGS_ENV:
            patch.delenv(name, raising=False)
        for stack in run_console_stack(infra, home):  # one stack; the loop resumes it to stop it
            for name, role in BRAND_OPERATORS:
                sign_in = SignIn(name, f"{name}-browser-pass-0", role, "*")
                create_operator(stack.env, name, password=sign_in.password, grants=[(role, "*")])
                stack.operators[name] = sign_in
            yield stack


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


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Keep the call's report on the item: the ``page`` fixture keeps evidence of a failed test."""
    report = yield
    if report.when == "call":
        item.stash[_CALL_REPORT] = report
    return report


@pytest.fixture
def page(
    browser_context: BrowserContext, page_problems: PageProblems, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Page]:
    """A page whose problems fail the test at its end; a failed test leaves a screenshot and the HTML."""
    page = browser_context.new_page()
    yield page
    report = request.node.stash.get(_CALL_REPORT, None)
    if report is not None and report.failed and not page.is_closed():
        page.screenshot(path=str(tmp_path / "failure.png"), full_page=True)
        (tmp_path / "failure.html").write_text(page.content())
        print(f"\nthe page at {page.url} when the test failed: {tmp_path}/failure.png, failure.html")  # noqa: T201
    unexpected = page_problems.unexpected()
    assert not unexpected, "the browser saw problems:\n" + "\n".join(unexpected)
