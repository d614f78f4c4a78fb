"""What the browser tests share: Debian's Chromium under Playwright, the whole platform with one operator
per role (:func:`run_console_stack`), a watcher that turns console errors, page errors and failed requests
into test failures (:class:`PageProblems`), a broken-link walker and the README's screenshots."""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Callable, Coroutine, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urldefrag, urlsplit

from fastapi import FastAPI
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, Playwright, Request, Response
from pymongo import AsyncMongoClient
from starlette.routing import Match

from scrm.processes import PROCESSES
from scrm_dev.stack import console_env
from scrm_dev.up import OPERATORS, SignIn
from tests.conftest import Infra, child_env, new_isolation
from tests.e2e.campaign_stack import APPID, create_operator, platform_env, profiles_env, run_processes

__all__ = [
    "CHROMIUM",
    "SCREENSHOTS_ENV",
    "ConsoleStack",
    "PageProblems",
    "assert_no_broken_links",
    "console_lacks_page",
    "launch_chromium",
    "run_async",
    "run_console_stack",
    "screenshot",
    "seed_rollups",
    "sign_in",
    "sign_in_via_api",
]

T = TypeVar("T")

#: Debian's package (``make system-deps``); Playwright never downloads a browser of its own here.
CHROMIUM = Path("/usr/bin/chromium")
#: The account's name in the console's switcher.
ACCOUNT_NAME = "贝贝母婴"
#: Set to 1 to write the README's screenshots (docs/console/*.png) while the tests run.
SCREENSHOTS_ENV = "SCRM_CONSOLE_SCREENSHOTS"
SCREENSHOT_DIR = Path(__file__).resolve().parents[2] / "docs" / "console"
#: Links that end the session: never followed by the link walker.
SIGN_OUT_PATHS = re.compile(r"log-?out|sign-?out", re.IGNORECASE)


def run_async(work: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """``asyncio.run(work())`` on a thread of its own: the test's thread belongs to Playwright's loop."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(work())).result()


def chromium_args() -> list[str]:
    """Quiet and self-contained: no GPU, no QUIC, no first-run, no background calls home."""
    args = [
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ]
    if os.geteuid() == 0:
        args.insert(0, "--no-sandbox")  # Chromium's sandbox refuses to run as root (containers, CI)
    return args


def launch_chromium(playwright: Playwright, executable: Path = CHROMIUM) -> Browser:
    if not executable.is_file():
        raise RuntimeError(
            f"Chromium is not installed at {executable}: the browser tests drive Debian's package; "
            "run `make system-deps` (deploy/local/install-system-deps.sh installs chromium)"
        )
    return playwright.chromium.launch(executable_path=str(executable), headless=True, args=chromium_args())


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


@dataclass(frozen=True)
class ConsoleStack:
    """The running platform: each process's URL, the account, and one sign-in per operator name
    (``admin`` on every account; ``ops``, ``reviewer``, ``pm``, ``analyst`` on :attr:`appid`)."""

    urls: dict[str, str]
    appid: str
    operators: dict[str, SignIn]
    #: The environment the processes got (MongoDB database, topic prefix...), to arrange or check data.
    env: dict[str, str]

    @property
    def console_url(self) -> str:
        return self.urls["console"]

    @property
    def origins(self) -> frozenset[str]:
        return frozenset(origin(url) for url in self.urls.values())

    def by_role(self, role: str) -> SignIn:
        return next(sign_in for sign_in in self.operators.values() if sign_in.role == role)


def run_console_stack(infra: Infra, tmp_path: Path) -> Iterator[ConsoleStack]:
    """Every process of the process table (the console among them) on ``infra`` with fresh names, one
    operator per role with a known password; stops them all cleanly at the end."""
    base = child_env(infra, new_isolation("browser"))
    operators = {
        name: SignIn(name, f"{name}-browser-pass-0", role, account if account == "*" else APPID)
        for name, role, account in OPERATORS
    }
    for sign_in in operators.values():
        create_operator(base, sign_in.name, password=sign_in.password, grants=[(sign_in.role, sign_in.account)])

    def env_for(ports: dict[str, int]) -> dict[str, str]:
        return (
            platform_env(base, ports)
            | profiles_env(ports)
            | console_env(ports, {APPID: ACCOUNT_NAME})
            | {
                "PUBLIC_BASE_URL": f"http://127.0.0.1:{ports['segments-public']}",
                "CLICK_LINK_SECRET": "click-links-browser-0",
                "POSTER_CACHE_DIR": str(tmp_path / "posters"),
                "POSTER_WORKERS": "1",
                "SCREENSHOT_WORKERS": "1",
                # The dashboards' tests write rollups of past days (seed_rollups) after other tests'
                # pages read those days: the analytics API must not answer them from its memory.
                "DASHBOARD_CACHE_SECONDS": "0",
            }
        )

    env: dict[str, str] = {}

    def remember(ports: dict[str, int]) -> dict[str, str]:
        env.update(env_for(ports))
        return env

    processes = run_processes(tuple(PROCESSES), tmp_path, remember)
    urls = next(processes)
    try:
        yield ConsoleStack(urls, APPID, operators, env)
    finally:
        for _ in processes:  # resumes it: stops every process and checks each exited cleanly
            pass


@dataclass
class PageProblems:
    """What went wrong in a browser context: console errors, uncaught page errors, requests to our own
    servers that failed or answered 5xx. The ``page`` fixture fails the test on any left at its end."""

    own_origins: frozenset[str]
    problems: list[str] = field(default_factory=list)
    _allowed: list[re.Pattern[str]] = field(default_factory=list)

    def watch(self, page: Page) -> None:
        page.on("console", lambda message: self._console(page, message))
        page.on("pageerror", lambda error: self.problems.append(f"page error on {page.url}: {error}"))
        page.on("requestfailed", self._failed)
        page.on("response", self._response)

    def allow(self, pattern: str) -> None:
        """Expect problems matching ``pattern`` (a regular expression searched in the description)."""
        self._allowed.append(re.compile(pattern))

    def take(self) -> list[str]:
        """The problems so far (a test that provokes some on purpose takes them)."""
        taken, self.problems = self.problems, []
        return taken

    def unexpected(self) -> list[str]:
        return [p for p in self.problems if not any(pattern.search(p) for pattern in self._allowed)]

    def _console(self, page: Page, message: ConsoleMessage) -> None:
        if message.type == "error":
            where = message.location
            self.problems.append(
                f"console error on {page.url}: {message.text} ({where.get('url')}:{where.get('lineNumber')})"
            )

    def _ours(self, url: str) -> bool:
        return origin(url) in self.own_origins

    def _failed(self, request: Request) -> None:
        failure = request.failure or ""
        # A request cut short because the page moved on (a link followed, a newer HTMX request) is fine.
        if self._ours(request.url) and "ERR_ABORTED" not in failure:
            self.problems.append(f"request failed: {request.method} {request.url}: {failure}")

    def _response(self, response: Response) -> None:
        if self._ours(response.url) and response.status >= 500:
            self.problems.append(f"server error: {response.status} {response.request.method} {response.url}")


def assert_no_broken_links(
    page: Page, *, skip: re.Pattern[str] = SIGN_OUT_PATHS, unbuilt: Callable[[str], bool] | None = None
) -> list[str]:
    """Follow every same-origin link on the page (with the page's cookies) and fail on any answering
    400 or more; returns the URLs checked. Sign-out links (``skip``) are left alone, and so are links
    for which ``unbuilt(path)`` is true (see :func:`console_lacks_page`)."""
    here = origin(page.url)
    hrefs: list[str] = page.eval_on_selector_all("a[href]", "links => links.map(link => link.href)")
    targets = sorted(
        {
            urldefrag(href).url
            for href in hrefs
            if origin(href) == here and not skip.search(urlsplit(href).path) and href != page.url
        }
    )
    if unbuilt is not None:
        waiting = [url for url in targets if unbuilt(urlsplit(url).path)]
        if waiting:
            print(f"links on {page.url} to console pages not built yet:", *waiting, sep="\n  ")  # noqa: T201
        targets = [url for url in targets if url not in waiting]
    broken = []
    for url in targets:
        response = page.request.get(url)
        if response.status >= 400:
            broken.append(f"{response.status} {url}")
    assert not broken, f"broken links on {page.url}:\n" + "\n".join(broken)
    return targets


def screenshot(page: Page, name: str, *, directory: Path = SCREENSHOT_DIR, full_page: bool = False) -> Path | None:
    """``docs/console/<name>.png`` for the README, when :data:`SCREENSHOTS_ENV` is 1 (else nothing)."""
    if os.environ.get(SCREENSHOTS_ENV) != "1":
        return None
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.png"
    if full_page:
        # The top bar is sticky: scrolled, a full-page capture would draw it where the view was.
        page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(path), full_page=full_page, animations="disabled")
    return path


def sign_in_via_api(context: BrowserContext, stack: ConsoleStack, name: str) -> None:
    """A session for ``name`` in ``context``'s cookies, through the identity API (tests that are not
    about the sign-in page itself)."""
    sign_in = stack.operators[name]
    response = context.request.post(
        f"{stack.urls['identity-api']}/auth/login", data={"name": sign_in.name, "password": sign_in.password}
    )
    assert response.ok, response.text()


@cache
def _console_app() -> FastAPI:
    from services.console.entrypoints.http import create_app
    from services.console.settings import ConsoleSettings

    return create_app(ConsoleSettings(environment="development"))


def console_lacks_page(path: str) -> bool:
    """Whether no GET route of the console matches ``path``: a link to a page another change is still
    building (a navigation section, a campaign's page). Links to pages that exist are checked."""
    scope = {"type": "http", "method": "GET", "path": path, "root_path": "", "headers": [], "query_string": b""}
    return not any(route.matches(scope)[0] is Match.FULL for route in _console_app().routes)


def sign_in(page: Page, stack: ConsoleStack, name: str) -> None:
    """Through the console's own sign-in page, as a person does; waits for the page after it."""
    sign_in = stack.operators[name]
    page.goto(f"{stack.console_url}/login")
    page.fill("input[name=name]", sign_in.name)
    page.fill("input[name=password]", sign_in.password)
    page.click("form button[type=submit]")
    page.wait_for_url(lambda url: urlsplit(url).path != "/login")


def seed_rollups(stack: ConsoleStack, rollups: Iterable[tuple[str, str, Mapping[str, int]]]) -> None:
    """Adds ``(scope, Beijing day, counters)`` to the stack account's analytics rollups, as the analytics
    worker's ``$inc`` does (one document per account, scope and day: docs/analytics.md). The dashboards'
    browser tests arrange their figures this way, on scopes and days of their own, so that they depend
    neither on the events reaching the worker nor on what other tests' members do today."""

    async def work() -> None:
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(stack.env["MONGODB_URL"], tz_aware=True)
        try:
            documents = client[stack.env["MONGODB_DATABASE"]]["rollups"]
            for scope, day, counters in rollups:
                await documents.update_one(
                    {"_id": f"{stack.appid}|{scope}|{day}"},
                    {
                        "$inc": {f"c.{metric}": value for metric, value in counters.items()},
                        "$setOnInsert": {"appid": stack.appid, "scope": scope, "day": day},
                    },
                    upsert=True,
                )
        finally:
            await client.close()

    run_async(work)
