"""What each role sees, and accounts one holds no role on."""

from __future__ import annotations

from services.console.domain.navigation import admin_sections, business_sections, sections
from services.console.domain.operators import SignedInOperator
from tests.unit.console.conftest import APPID, ConsoleUnderTest


def _operator(*grants: tuple[str, str]) -> SignedInOperator:
    return SignedInOperator.from_me(
        {"id": "o1", "name": "x", "grants": [{"role": r, "appid": a} for r, a in grants], "csrf_token": "t"}
    )


def test_a_reviewer_sees_review_and_members_but_not_pushes_or_administration() -> None:
    reviewer = _operator(("reviewer", "wx1"))
    assert [s.key for s in sections(reviewer, "wx1")] == [
        "overview",
        "campaigns",
        "referrals",
        "review",
        "members",
        "coverage",
    ]
    assert sections(reviewer, "wx2") == [] and admin_sections(reviewer) == []


def test_an_admin_of_every_account_sees_everything_everywhere() -> None:
    admin = _operator(("admin", "*"))
    assert [s.key for s in sections(admin, "wx9")] == [
        "overview",
        "campaigns",
        "referrals",
        "review",
        "members",
        "coverage",
        "segments",
        "pushes",
    ]
    assert [s.key for s in admin_sections(admin)] == ["operators", "tokens", "sessions", "audit"]


def test_an_admin_of_one_account_may_read_its_audit_log_but_not_manage_operators() -> None:
    assert [s.key for s in admin_sections(_operator(("admin", "wx1")))] == ["audit"]


def test_accounts_are_the_granted_ones_or_every_known_one_for_star() -> None:
    assert _operator(("reviewer", "wx1"), ("analyst", "wx3")).accounts(["wx1", "wx2"]) == ["wx1", "wx3"]
    assert _operator(("admin", "*")).accounts(["wx2", "wx1"]) == ["wx1", "wx2"]


async def test_the_reviewers_navigation_in_the_page(console: ConsoleUnderTest) -> None:
    await console.sign_in("rita")
    page = (await console.client.get(f"/accounts/{APPID}")).text
    assert 'data-nav="review"' in page and 'data-nav="members"' in page
    assert 'data-nav="pushes"' not in page and 'data-nav="segments"' not in page and 'data-nav="operators"' not in page


async def test_home_opens_the_first_section_of_the_first_account(console: ConsoleUnderTest) -> None:
    await console.sign_in("rita")
    home = await console.client.get("/")
    assert home.status_code == 303 and home.headers["location"] == f"/accounts/{APPID}"


async def test_an_account_without_a_role_is_not_found(console: ConsoleUnderTest) -> None:
    await console.sign_in("rita")
    page = await console.client.get("/accounts/wx2")
    assert page.status_code == 404 and "未知的公众号" in page.text


async def test_the_switcher_names_accounts_and_keeps_to_known_ones(console: ConsoleUnderTest) -> None:
    await console.sign_in("ada")
    page = (await console.client.get(f"/accounts/{APPID}")).text
    assert "贝贝母婴 (wx1)" in page and ">wx2</option>" in page
    assert (await console.client.get("/switch", params={"appid": "wx2"})).headers["location"] == "/accounts/wx2"
    assert (await console.client.get("/switch", params={"appid": "nope"})).headers["location"] == "/"


async def test_the_overview_says_so_when_member_counts_cannot_be_loaded(console: ConsoleUnderTest) -> None:
    await console.sign_in("rita")  # no profiles API is mounted here: it cannot be reached
    tiles = await console.client.get(f"/accounts/{APPID}/overview/members")
    assert tiles.status_code == 200 and "暂时无法加载" in tiles.text


def test_brands_and_the_business_view_are_for_account_managers_sales_heads_and_admins() -> None:
    for role in ("account_manager", "sales_head", "admin"):
        assert [s.key for s in business_sections(_operator((role, "*")))] == ["business", "brands"]
    assert business_sections(_operator(("project_manager", "wx1"))) == []
    assert business_sections(_operator(("analyst", "*"))) == []
