"""The maternal-infant taxonomy: stable tag codes, zh-CN names (English ones optional), parents, and
how mall categories map onto it. Pure: built from a plain mapping (the adapter reads it from a JSON
file, so ops change the taxonomy without a code change), validated on the way in.

Codes are dotted and stable (``interest.feeding.formula``): segments, pushes and WeChat tag sync refer
to them, so a renamed code would silently empty a segment. Names can change freely.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from shared.maternal_infant._life_stage import Stage

_CODE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$")
#: Top-level families; every code starts with one of them.
FAMILIES = frozenset({"stage", "interest", "purchase", "spend", "campaign", "ops"})


class TaxonomyError(ValueError):
    """The taxonomy file is unusable; the message names the code or category at fault."""


@dataclass(frozen=True)
class TaxonomyTag:
    code: str
    #: The zh-CN name (what members and most operators read).
    name: str
    parent: str | None = None
    #: The English name, when the file gives one (``name_en``); :attr:`english` falls back to the code.
    name_en: str | None = None

    @property
    def english(self) -> str:
        return self.name_en or self.code

    @property
    def family(self) -> str:
        return self.code.split(".", 1)[0]


@dataclass(frozen=True)
class CategoryMapping:
    """What buying in a mall category says: interests (with weights), a purchase tag, and optionally a
    life stage (a baby of about ``baby_age_months`` at the time of the order, e.g. newborn diapers)."""

    category: str
    interests: Mapping[str, float]
    purchase: str | None = None
    baby_age_months: int | None = None


@dataclass(frozen=True)
class Taxonomy:
    tags: Mapping[str, TaxonomyTag]
    categories: Mapping[str, CategoryMapping] = field(default_factory=dict)
    #: A member's message (exactly this text, trimmed) or menu click that declares tags.
    keywords: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    menu_keys: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def __contains__(self, code: object) -> bool:
        return code in self.tags

    def name(self, code: str) -> str:
        return self.tags[code].name

    def names(self, language: str = "zh") -> dict[str, str]:
        """Every code's name in ``language`` ("zh" or "en"; English falls back to the code)."""
        english = not language.startswith("zh")
        return {code: tag.english if english else tag.name for code, tag in self.tags.items()}

    def ancestors(self, code: str) -> list[str]:
        """Parents up to the root, nearest first."""
        chain = []
        parent = self.tags[code].parent
        while parent is not None:
            chain.append(parent)
            parent = self.tags[parent].parent
        return chain

    def category(self, name: str) -> CategoryMapping | None:
        return self.categories.get(name)

    def family(self, family: str) -> list[TaxonomyTag]:
        return [tag for code, tag in self.tags.items() if code.split(".", 1)[0] == family]


def _tags(items: Iterable[Any]) -> dict[str, TaxonomyTag]:
    tags: dict[str, TaxonomyTag] = {}
    for index, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise TaxonomyError(f"tags.{index}: expected an object with code, name and parent")
        code, name, parent = item.get("code"), item.get("name"), item.get("parent")
        if not isinstance(code, str) or not _CODE.match(code) or code.split(".", 1)[0] not in FAMILIES:
            raise TaxonomyError(f"tags.{index}.code: {code!r} is not a dotted code under {sorted(FAMILIES)}")
        if code in tags:
            raise TaxonomyError(f"tags.{index}.code: {code} appears twice")
        if not isinstance(name, str) or not name.strip():
            raise TaxonomyError(f"tags.{index}.name: {code} needs a name")
        if parent is not None and not isinstance(parent, str):
            raise TaxonomyError(f"tags.{index}.parent: {code} needs a parent code or null")
        name_en = item.get("name_en")
        if name_en is not None and (not isinstance(name_en, str) or not name_en.strip()):
            raise TaxonomyError(f"tags.{index}.name_en: {code}'s English name must be non-blank text (or left out)")
        tags[code] = TaxonomyTag(code, name.strip(), parent, None if name_en is None else name_en.strip())
    for code, tag in tags.items():
        if tag.parent is not None and tag.parent not in tags:
            raise TaxonomyError(f"{code}: parent {tag.parent} is not in the taxonomy")
    for code in tags:  # no cycles: every chain reaches a root
        seen = {code}
        parent = tags[code].parent
        while parent is not None:
            if parent in seen:
                raise TaxonomyError(f"{code}: its parents form a cycle")
            seen.add(parent)
            parent = tags[parent].parent
    return tags


def _categories(items: Mapping[str, Any], tags: Mapping[str, TaxonomyTag]) -> dict[str, CategoryMapping]:
    categories: dict[str, CategoryMapping] = {}
    for category, item in items.items():
        where = f"mall_categories.{category}"
        if not isinstance(item, Mapping):
            raise TaxonomyError(f"{where}: expected an object")
        interests = item.get("interests", {})
        if not isinstance(interests, Mapping):
            raise TaxonomyError(f"{where}.interests: expected code -> weight")
        for code, weight in interests.items():
            if code not in tags or not code.startswith("interest."):
                raise TaxonomyError(f"{where}.interests: {code} is not an interest tag of the taxonomy")
            if isinstance(weight, bool) or not isinstance(weight, int | float) or not 0 < weight <= 10:
                raise TaxonomyError(f"{where}.interests.{code}: weight must be in (0, 10]")
        purchase = item.get("purchase")
        if purchase is not None and (
            not isinstance(purchase, str) or purchase not in tags or not purchase.startswith("purchase.")
        ):
            raise TaxonomyError(f"{where}.purchase: {purchase} is not a purchase tag of the taxonomy")
        age = item.get("baby_age_months")
        if age is not None and (isinstance(age, bool) or not isinstance(age, int) or not 0 <= age <= 72):
            raise TaxonomyError(f"{where}.baby_age_months: whole months, 0-72")
        categories[category] = CategoryMapping(
            category, {code: float(w) for code, w in interests.items()}, purchase, age
        )
    return categories


def _triggers(items: Any, where: str, tags: Mapping[str, TaxonomyTag]) -> dict[str, tuple[str, ...]]:
    if not isinstance(items, Mapping):
        raise TaxonomyError(f"{where}: expected text -> list of interest codes")
    triggers: dict[str, tuple[str, ...]] = {}
    for trigger, codes in items.items():
        if not isinstance(trigger, str) or not trigger.strip() or trigger != trigger.strip():
            raise TaxonomyError(f"{where}: {trigger!r} must be non-blank text without padding")
        if not isinstance(codes, list) or not codes:
            raise TaxonomyError(f"{where}.{trigger}: a non-empty list of codes")
        for code in codes:
            if not isinstance(code, str) or code not in tags or not code.startswith("interest."):
                raise TaxonomyError(f"{where}.{trigger}: {code} is not an interest tag of the taxonomy")
        triggers[trigger] = tuple(codes)
    return triggers


def parse_taxonomy(document: Mapping[str, Any]) -> Taxonomy:
    """A taxonomy from its JSON document: ``{"tags": [...], "mall_categories": {...}}``.

    Every life stage the platform computes must be in it (segments and syncs look stage codes up).
    """
    raw_tags = document.get("tags")
    if not isinstance(raw_tags, list) or not raw_tags:
        raise TaxonomyError("tags: a non-empty list is required")
    tags = _tags(raw_tags)
    missing = [stage.value for stage in Stage if stage.value not in tags]
    if missing:
        raise TaxonomyError(f"tags: the life stages {missing} are missing")
    raw_categories = document.get("mall_categories", {})
    if not isinstance(raw_categories, Mapping):
        raise TaxonomyError("mall_categories: expected category -> mapping")
    return Taxonomy(
        tags,
        _categories(raw_categories, tags),
        _triggers(document.get("keywords", {}), "keywords", tags),
        _triggers(document.get("menu_keys", {}), "menu_keys", tags),
    )
