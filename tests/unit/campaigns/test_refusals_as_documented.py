"""docs/campaigns.md's "Who gets credit" names the refusals the code records, in the order it checks them."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from services.campaigns.domain.referrals import FollowFacts, ReferralRules, Rejection, Tier, decide_credit

DOC = Path(__file__).parents[3] / "docs" / "campaigns.md"
T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
RULES = ReferralRules(starts_at=T0, ends_at=T0 + timedelta(days=30), running=True, tiers=(Tier(3, "A"),))
FRIEND = FollowFacts(
    inviter="o_mom",
    invitee="o_friend",
    followed_at=T0 + timedelta(hours=1),
    invitee_is_new=True,
    invitee_already_invited=False,
    inviter_credits_today=0,
)


def _documented() -> list[str]:
    text = DOC.read_text(encoding="utf-8")
    section = text[text.index("## Who gets credit") :]
    section = section[: section.index("\n## ", 1)]
    return re.findall(r"^\| `([a-z_]+)`", section, flags=re.MULTILINE) + re.findall(
        r"^\| `[a-z_]+`, `([a-z_]+)`", section, flags=re.MULTILINE
    )


def test_every_refusal_is_documented_and_nothing_else() -> None:
    assert sorted(_documented()) == sorted(reason.value for reason in Rejection)


def test_a_re_follow_is_not_a_new_follower() -> None:
    assert decide_credit(RULES, replace(FRIEND, invitee_is_new=False)) is Rejection.NOT_A_NEW_FOLLOWER


def test_a_credited_friend_who_comes_back_is_already_invited_as_documented() -> None:
    # Credited, unfollowed (the credit revoked, its record kept), then followed again through the code.
    back = replace(FRIEND, invitee_is_new=False, invitee_already_invited=True)
    assert decide_credit(RULES, back) is Rejection.ALREADY_INVITED
    table = _documented()
    assert table.index("already_invited") < table.index("not_a_new_follower")  # the order the code checks
