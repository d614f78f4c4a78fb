"""What the Members pages show: labels for the profile's values, and how an openid is recognized."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from services.console.domain.messages import N_

__all__ = [
    "CHANNEL_LABELS",
    "CONSENT_LABELS",
    "DELIVERY_LABELS",
    "HISTORY_LABELS",
    "REWARD_LABELS",
    "SKIP_LABELS",
    "SOURCE_LABELS",
    "SUBSCRIPTION_LABELS",
    "TAG_NAMES_EN",
    "TagChoice",
    "is_openid",
    "tag_choices",
    "tag_name",
]

#: What the platform's APIs accept as an openid (WeChat's are 28 characters of this alphabet).
_OPENID = re.compile(r"^[A-Za-z0-9_-]{1,128}$")


def is_openid(text: str) -> bool:
    return bool(_OPENID.match(text))


#: Where a tag came from (profiles' TagSource).
SOURCE_LABELS: dict[str, str] = {
    "declared": N_("declared by the member"),
    "survey": N_("survey answer"),
    "mall": N_("mall behaviour"),
    "inferred": N_("inferred"),
    "ops": N_("set by ops"),
}

CONSENT_LABELS: dict[str, str] = {
    "marketing": N_("Marketing messages"),
    "data_use": N_("Personalization from behaviour"),
}

#: The profile history's entry kinds.
HISTORY_LABELS: dict[str, str] = {
    "followed": N_("Followed"),
    "unfollowed": N_("Unfollowed"),
    "tag_added": N_("Tag added"),
    "tag_removed": N_("Tag removed"),
    "tag_weight": N_("Tag weight changed"),
    "stage_declared": N_("Life stage declared"),
    "consent": N_("Consent"),
    "mall_event": N_("Mall activity"),
}

#: A member's deliveries (segments' push records).
DELIVERY_LABELS: dict[str, str] = {
    "pending": N_("pending"),
    "sent": N_("sent"),
    "delivered": N_("delivered"),
    "failed": N_("failed"),
    "skipped": N_("skipped"),
    "held": N_("held"),
}

SKIP_LABELS: dict[str, str] = {
    "unfollowed": N_("not following"),
    "no_consent": N_("no marketing consent"),
    "frequency_cap": N_("frequency cap reached"),
    "outside_window": N_("outside the 48-hour window"),
    "unknown_member": N_("no profile"),
    "mass_budget": N_("monthly broadcast budget used"),
    "no_subscription_consent": N_("no subscription consent"),
}

#: A member's subscription-message consent per template (segments' consents).
SUBSCRIPTION_LABELS: dict[str, str] = {
    "accepted": N_("accepted"),
    "cancelled": N_("cancelled"),
    "rejected": N_("popup rejected"),
}

CHANNEL_LABELS: dict[str, str] = {
    "customer_service": N_("customer-service message"),
    "template": N_("template message"),
    "subscription": N_("subscription message"),
    "mass": N_("broadcast"),
}

#: A campaign reward's delivery (campaigns' member view).
REWARD_LABELS: dict[str, str] = {
    "granted": N_("granted, not delivered yet"),
    "issued": N_("issued"),
    "awaiting_stock": N_("waiting for stock"),
}

#: English names of the shipped taxonomy's codes; the taxonomy itself names tags in Chinese only.
#: A code missing here (a taxonomy ops extended) shows its Chinese name in English too.
TAG_NAMES_EN: dict[str, str] = {
    "stage": "Life stage",
    "stage.preparing": "Trying to conceive",
    "stage.pregnancy": "Pregnancy",
    "stage.pregnancy.early": "Early pregnancy",
    "stage.pregnancy.mid": "Mid pregnancy",
    "stage.pregnancy.late": "Late pregnancy",
    "stage.baby": "Baby",
    "stage.baby.0_6m": "0-6 months",
    "stage.baby.6_12m": "6-12 months",
    "stage.child": "Toddler and child",
    "stage.child.1_3y": "1-3 years",
    "stage.child.3y_plus": "3 years and over",
    "interest": "Interests",
    "interest.feeding": "Feeding",
    "interest.feeding.formula": "Formula",
    "interest.feeding.breastfeeding": "Breastfeeding",
    "interest.feeding.complementary": "Complementary food",
    "interest.diapers": "Diapers",
    "interest.care": "Baby care",
    "interest.care.baby_skincare": "Baby skincare",
    "interest.care.bath": "Bath",
    "interest.health": "Nutrition and health",
    "interest.health.supplements": "Supplements",
    "interest.maternity": "Maternity",
    "interest.maternity.wear": "Maternity wear",
    "interest.maternity.skincare": "Maternity skincare",
    "interest.gear": "Travel gear",
    "interest.gear.stroller": "Strollers",
    "interest.gear.car_seat": "Car seats",
    "interest.toys": "Toys and early learning",
    "interest.clothing": "Children's clothing",
    "purchase": "Purchases",
    "purchase.formula": "Bought formula",
    "purchase.diapers": "Bought diapers",
    "purchase.care": "Bought baby care",
    "purchase.maternity": "Bought maternity products",
    "purchase.gear": "Bought travel gear",
    "purchase.toys": "Bought toys",
    "spend": "Spend level",
    "spend.a": "High spend (A)",
    "spend.b": "Mid spend (B)",
    "spend.c": "Low spend (C)",
}


def tag_name(code: str, name: str, locale: str, name_en: str | None = None) -> str:
    """A tag's name in the page's language: the taxonomy's Chinese name, or its English one (the API's
    ``name_en``, else the one we know)."""
    if locale.startswith("zh"):
        return name or code
    english = name_en if name_en and name_en != code else None
    return english or TAG_NAMES_EN.get(code) or name or code


@dataclass(frozen=True)
class TagChoice:
    code: str
    label: str
    #: Nesting below the family's root (0 for "interest", 1 for "interest.feeding"...).
    depth: int


def tag_choices(taxonomy: Iterable[Mapping[str, Any]], locale: str) -> list[tuple[str, list[TagChoice]]]:
    """The tags ops may set, grouped by family (the family's own name heads its group), in the
    taxonomy's order: the tag picker's option groups."""
    rows = list(taxonomy)
    names = {str(row["code"]): str(row.get("name") or "") for row in rows}
    groups: dict[str, list[TagChoice]] = {}
    for row in rows:
        code = str(row["code"])
        if not row.get("ops", False) or "." not in code:
            continue
        family = code.split(".", 1)[0]
        label = tag_name(code, names[code], locale, row.get("name_en"))
        groups.setdefault(family, []).append(TagChoice(code, label, code.count(".") - 1))
    english = {str(row["code"]): row.get("name_en") for row in rows}
    return [
        (tag_name(family, names.get(family, family), locale, english.get(family)), choices)
        for family, choices in groups.items()
    ]
