"""What an operator should know before a campaign starts, besides what blocks it.

Pure: the caller reads the pools' stock and the account's other running campaigns. Blocking problems
are the campaign's own (:meth:`~services.campaigns.domain.campaign.Campaign.activation_problems`);
these warnings never block: a campaign may start with an empty pool (a member reaching its tier is
granted the reward as ``awaiting_stock`` and gets the code once the pool is refilled), but nobody
should find that out from members' complaints.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from services.campaigns.domain.campaign import Campaign, Problem
from services.campaigns.domain.compliance import Severity, flags_of

__all__ = ["activation_warnings"]


def activation_warnings(
    campaign: Campaign, remaining: Mapping[str, int], running: Sequence[Campaign], now: datetime
) -> list[Problem]:
    """Warnings about starting ``campaign`` at ``now``: tiers (and the share reward) whose pool has no
    code left, a start date still ahead, and join keywords or menu keys that another of ``running`` (the
    account's active campaigns) answers too, and wording WeChat forbids (the compliance check's
    ``block`` flags: the console refuses to activate with them, the API says so). ``remaining`` is codes
    left per pool (a pool not in it has none)."""
    warnings = [
        Problem(flag.field, f"wording WeChat forbids ({flag.rule}): {flag.phrase}; {flag.explanation_en}")
        for flag in flags_of(campaign)
        if flag.severity is Severity.BLOCK
    ]
    for index, tier in enumerate(campaign.tiers):
        if remaining.get(tier.pool, 0) <= 0:
            warnings.append(
                Problem(
                    f"tiers.{index}.pool",
                    f"pool {tier.pool} has no codes left: members reaching {tier.count} invites will wait "
                    "for stock (awaiting_stock) until codes are uploaded or generated",
                )
            )
    share_pool = campaign.share_reward_pool if campaign.share_screenshot_task else None
    if share_pool is not None and remaining.get(share_pool, 0) <= 0:
        warnings.append(
            Problem(
                "share_reward_pool",
                f"pool {share_pool} has no codes left: approved screenshots will wait for stock until codes "
                "are uploaded or generated",
            )
        )
    if campaign.starts_at > now:
        warnings.append(Problem("starts_at", f"members can join from {campaign.starts_at.isoformat()} on, not before"))
    others = [other for other in running if other.id != campaign.id]
    for kind, label in (("keywords", "keyword"), ("menu_keys", "menu key")):
        mine: tuple[str, ...] = getattr(campaign.join, kind)
        for index, value in enumerate(mine):
            sharing = [other for other in others if value in getattr(other.join, kind)]
            if sharing:
                names = ", ".join(f"{other.name} ({other.id})" for other in sharing)
                warnings.append(Problem(f"join.{kind}.{index}", f"the {label} {value} also joins the running {names}"))
    return warnings
