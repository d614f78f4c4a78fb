"""Poster A/B variants: several poster templates per campaign, one per member, and which converts. Pure.

A campaign's own template is variant :data:`PRIMARY` (``a``); an operator adds others (``b``, ``c``…)
while the campaign is a draft. Each member is given one variant with their first poster and keeps it
(their QR code's scene names it, see :class:`~services.campaigns.domain.referrals.ReferralScene`), so
every scan, follow and credit through their code counts for that variant.

Which variant a new member gets (:func:`choose_variant`):

- by the variants' weights (equal by default), drawn from a number derived from the campaign and the
  member, so the same member always draws the same variant (a redelivered join changes nothing);
- with ``auto_shift`` on, once every variant in play has been given to at least ``min_sample``
  members, by **Thompson sampling** on conversions per member given the variant: each variant's
  rate is drawn from Beta(1 + conversions, 1 + members − conversions) and the highest draw wins. A
  variant that converts better is drawn more and more often, a clearly worse one rarely, and a
  variant whose lead is a fluke keeps getting chances to show it. Variants with weight 0 are out of
  play. A conversion is a follow through the member's code, or, for a campaign whose rewards count
  verified followers, a *confirmed* credit (the friend stayed past the revocation window): the
  poster that brings friends who stay wins, not the one that brings friends who leave.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from services.campaigns.domain.campaign import CampaignInvalid, PosterTemplate

__all__ = [
    "MAX_VARIANTS",
    "PRIMARY",
    "VARIANT_KEY",
    "AutoShift",
    "PosterVariant",
    "VariantFigures",
    "VariantPlan",
    "choose_variant",
    "confirmed_change",
    "shift_rule",
    "variant_figures",
]

#: The campaign's own template.
PRIMARY = "a"
#: A variant's key: short, since it rides in the 64-character QR scene.
VARIANT_KEY = re.compile(r"^[a-z][a-z0-9]{0,2}$")
MAX_VARIANTS = 6
MAX_WEIGHT = 1000


@dataclass(frozen=True)
class PosterVariant:
    """An extra poster template (``b``, ``c``…); the primary one is the campaign's ``template``."""

    key: str
    template: PosterTemplate
    weight: int = 1


@dataclass(frozen=True)
class AutoShift:
    """Shift new members toward the variant that converts best, once each has ``min_sample`` members."""

    enabled: bool = False
    min_sample: int = 100


@dataclass(frozen=True)
class VariantPlan:
    """A campaign's variants besides its own template, and how members are spread over them."""

    campaign_id: str
    variants: tuple[PosterVariant, ...] = ()
    primary_weight: int = 1
    auto_shift: AutoShift = field(default_factory=AutoShift)

    def validate(self) -> None:
        keys = [variant.key for variant in self.variants]
        if len(keys) + 1 > MAX_VARIANTS:
            raise CampaignInvalid("variants", f"at most {MAX_VARIANTS} variants, the campaign's own template included")
        if len(set(keys)) != len(keys) or PRIMARY in keys:
            raise CampaignInvalid("variants", f"each key once; {PRIMARY!r} is the campaign's own template")
        for variant in self.variants:
            if not VARIANT_KEY.fullmatch(variant.key):
                raise CampaignInvalid("key", "a lowercase letter, then up to 2 lowercase letters or digits")
            variant.template.validate()
        for name, weight in self.weights().items():
            if not 0 <= weight <= MAX_WEIGHT:
                raise CampaignInvalid(f"weights.{name}", f"between 0 and {MAX_WEIGHT}")
        if not any(self.weights().values()):
            raise CampaignInvalid("weights", "at least one variant needs a weight above 0")
        if self.auto_shift.min_sample < 1:
            raise CampaignInvalid("auto_shift.min_sample", "at least 1")

    @property
    def active(self) -> bool:
        """Whether members are spread over variants at all (a plan without extra templates is not)."""
        return bool(self.variants)

    def weights(self) -> dict[str, int]:
        return {PRIMARY: self.primary_weight, **{variant.key: variant.weight for variant in self.variants}}

    def template(self, key: str) -> PosterTemplate | None:
        """The extra variant's template (None for the primary, whose template is the campaign's)."""
        return next((variant.template for variant in self.variants if variant.key == key), None)

    def with_variant(self, variant: PosterVariant) -> VariantPlan:
        others = tuple(v for v in self.variants if v.key != variant.key)
        return VariantPlan(self.campaign_id, (*others, variant), self.primary_weight, self.auto_shift)

    def without(self, key: str) -> VariantPlan:
        kept = tuple(v for v in self.variants if v.key != key)
        return VariantPlan(self.campaign_id, kept, self.primary_weight, self.auto_shift)


@dataclass(frozen=True)
class VariantFigures:
    """One variant's funnel: members given it, scans of their codes, new followers, credits recorded,
    and the credits confirmed and still standing."""

    variant: str
    members: int = 0
    scans: int = 0
    follows: int = 0
    credited: int = 0
    #: Credits past their revocation window (or not waiting for one) and not revoked since.
    confirmed: int = 0

    @property
    def follow_rate(self) -> float | None:
        """New followers per member given the variant (None before anyone was)."""
        return None if not self.members else self.follows / self.members

    @property
    def confirmed_rate(self) -> float | None:
        """Confirmed credits per member given the variant (None before anyone was)."""
        return None if not self.members else self.confirmed / self.members

    def conversions(self, on_confirmed: bool) -> int:
        """What the automatic shift counts as converted: confirmed credits, or follows."""
        return self.confirmed if on_confirmed else self.follows


def confirmed_change(variant: str | None, before: bool, after: bool) -> dict[str, int]:
    """The variant counters' change when a credit through ``variant`` goes from confirmed ``before`` to
    ``after`` (a revoked credit is not confirmed); nothing for a credit whose variant is unknown."""
    if variant is None or before == after:
        return {}
    return {f"confirmed:{variant}": 1 if after else -1}


def shift_rule(on_confirmed: bool) -> str:
    """The automatic shift's rule in words (the variants answer states it)."""
    what = "confirmed credits" if on_confirmed else "follows"
    return (
        f"Thompson sampling on {what} per member given the variant, Beta(1+{what}, 1+members-{what}), "
        "once every variant with a weight above 0 has at least min_sample members; before that, by weight"
    )


def variant_figures(plan: VariantPlan, counts: Mapping[str, int]) -> list[VariantFigures]:
    """Per variant (primary first), from the counters ``<figure>:<variant>`` (members, scans, follows,
    credited, confirmed)."""
    keys = [PRIMARY, *(variant.key for variant in plan.variants)]
    keys += sorted({name.partition(":")[2] for name in counts} - set(keys) - {""})  # variants removed since
    return [
        VariantFigures(
            key,
            members=counts.get(f"members:{key}", 0),
            scans=counts.get(f"scans:{key}", 0),
            follows=counts.get(f"follows:{key}", 0),
            credited=counts.get(f"credited:{key}", 0),
            confirmed=counts.get(f"confirmed:{key}", 0),
        )
        for key in keys
    ]


def _seed(campaign_id: str, openid: str) -> int:
    return int.from_bytes(hashlib.sha256(f"{campaign_id}:{openid}".encode()).digest()[:8], "big")


def choose_variant(
    plan: VariantPlan, figures: Sequence[VariantFigures], openid: str, *, on_confirmed: bool = False
) -> str:
    """The variant a new member is given (see the module's doc for the rule). Deterministic for a member.

    ``on_confirmed``: the shift counts confirmed credits as conversions (a verified-followers campaign),
    else follows."""
    weights = {key: weight for key, weight in plan.weights().items() if weight > 0}
    if not plan.active or len(weights) == 1:
        return next(iter(weights), PRIMARY)
    draw = random.Random(_seed(plan.campaign_id, openid))  # noqa: S311 - a spread, not a secret
    seen = {figure.variant: figure for figure in figures}
    in_play = [seen.get(key, VariantFigures(key)) for key in weights]
    if plan.auto_shift.enabled and all(figure.members >= plan.auto_shift.min_sample for figure in in_play):
        samples = {}
        for figure in in_play:
            won = figure.conversions(on_confirmed)
            samples[figure.variant] = draw.betavariate(1 + won, 1 + max(figure.members - won, 0))
        return max(samples, key=lambda key: samples[key])
    point = draw.random() * sum(weights.values())
    for key, weight in weights.items():
        point -= weight
        if point < 0:
            return key
    return next(reversed(weights))
