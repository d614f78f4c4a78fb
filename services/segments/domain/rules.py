"""Segment rules: a JSON tree of ``all`` / ``any`` / ``not`` over member predicates. Pure.

A rule is parsed once (every problem reported with its path, such as ``all[2].tag_weight.min``),
summarized for people in zh-CN and English, and evaluated against what is known of one member
(:class:`MemberFacts`), with an explanation of which conditions held. Time-based predicates (stage,
pregnancy week, age, last active) take the evaluation's ``today``/``now``, so membership moves with
the calendar.

The JSON shapes, one key per node::

    {"all": [node, ...]}          {"any": [node, ...]}          {"not": node}
    {"has_tag": "interest.feeding.formula"}
    {"tag_weight": {"code": "interest.toys", "min": 1.5}}
    {"stage_in": ["stage.pregnancy.late", "stage.baby.0_6m"]}
    {"pregnancy_week": {"min": 28, "max": 36}}       {"baby_age_months": {"min": 0, "max": 6}}
    {"followed_since": "2026-01-01"}                 {"followed_before": "2026-06-01"}
    {"active_within_days": 2}                        {"joined_campaign": "<campaign id>"}
    {"invited_at_least": {"count": 3, "campaign": "<campaign id, optional>"}}
    {"spend_tier": ["spend.a", "spend.b"]}           {"consent": "marketing"}
    {"account": "wx..."}
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from shared.maternal_infant import SPEND_TIERS, Basis, LifeStage, Stage, StageDeclaration, stage_of

__all__ = [
    "MAX_DEPTH",
    "MAX_TAG_WEIGHT",
    "All",
    "AnyOf",
    "Explanation",
    "MemberFacts",
    "Not",
    "Predicate",
    "Problem",
    "Rule",
    "RuleInvalid",
    "evaluate",
    "explain",
    "parse_rule",
    "stage_today",
    "summarize",
]

#: Tag-weight thresholds go up to this, in tenths.
MAX_TAG_WEIGHT = 25.0
#: Deeper trees are refused: nobody writes them by hand, and a hostile one should not exhaust the stack.
MAX_DEPTH = 32
_MAX_CHILDREN = 200
_STAGES = tuple(stage.value for stage in Stage)
_SPEND_TIERS = tuple(tier for tier, _ in SPEND_TIERS)
_CONSENTS = ("marketing", "data_use")


@dataclass(frozen=True)
class Problem:
    path: str
    message: str


class RuleInvalid(ValueError):
    """A rule that cannot be used; ``problems`` lists each with its path in the JSON."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        super().__init__("; ".join(f"{p.path}: {p.message}" for p in problems))
        self.problems = tuple(problems)


@dataclass(frozen=True)
class Predicate:
    """One condition on a member: ``kind`` is the JSON key, ``value`` its checked argument."""

    kind: str
    value: Any


@dataclass(frozen=True)
class All:
    children: tuple[Rule, ...]


@dataclass(frozen=True)
class AnyOf:
    children: tuple[Rule, ...]


@dataclass(frozen=True)
class Not:
    child: Rule


Rule = All | AnyOf | Not | Predicate


@dataclass(frozen=True)
class MemberFacts:
    """What a rule can ask about one member, as of the evaluation."""

    appid: str
    openid: str
    #: Tag code -> current weight (decayed as of now); ancestors count through their descendants.
    tags: Mapping[str, float] = field(default_factory=dict)
    #: The life-stage declaration that counts (the stage itself depends on the day of evaluation).
    stage_basis: Basis | None = None
    stage_on: date | None = None
    following: bool = False
    first_followed_at: datetime | None = None
    last_active_at: datetime | None = None
    campaigns: frozenset[str] = frozenset()
    #: Campaign id -> credited invites.
    invites: Mapping[str, int] = field(default_factory=dict)
    spend_tier: str | None = None
    consents: frozenset[str] = frozenset()


def stage_today(member: MemberFacts, today: date) -> LifeStage | None:
    if member.stage_basis is None:
        return None
    return stage_of(StageDeclaration(member.stage_basis, today, member.stage_on), today)


@dataclass(frozen=True)
class Explanation:
    """Whether a node held for the member, with its summary and, for ``all``/``any``/``not``, its parts."""

    held: bool
    summary: str
    parts: tuple[Explanation, ...] = ()


# -- parsing --------------------------------------------------------------------------------------------


def parse_rule(data: object, known_tags: frozenset[str] | None = None) -> Rule:
    """The rule ``data`` describes; raises :class:`RuleInvalid` listing every problem with its path.

    ``known_tags`` (the taxonomy's codes) makes unknown tag codes an error instead of a rule that
    silently matches nobody.
    """
    problems: list[Problem] = []
    rule = _parse(data, "rule", 0, problems, known_tags)
    if problems or rule is None:
        raise RuleInvalid(problems or [Problem("rule", "empty")])
    return rule


def _parse(data: object, path: str, depth: int, problems: list[Problem], tags: frozenset[str] | None) -> Rule | None:
    if depth > MAX_DEPTH:
        problems.append(Problem(path, f"nested deeper than {MAX_DEPTH} levels"))
        return None
    if not isinstance(data, dict) or len(data) != 1:
        problems.append(Problem(path, "expected an object with exactly one key (all, any, not or a predicate)"))
        return None
    [(key, value)] = data.items()
    here = f"{path}.{key}"
    if key in ("all", "any"):
        if not isinstance(value, list) or not value:
            problems.append(Problem(here, "expected a non-empty list of rules"))
            return None
        if len(value) > _MAX_CHILDREN:
            problems.append(Problem(here, f"at most {_MAX_CHILDREN} rules in one list"))
            return None
        children = [_parse(child, f"{here}[{i}]", depth + 1, problems, tags) for i, child in enumerate(value)]
        if any(child is None for child in children):
            return None
        kept = tuple(child for child in children if child is not None)
        return All(kept) if key == "all" else AnyOf(kept)
    if key == "not":
        child = _parse(value, here, depth + 1, problems, tags)
        return None if child is None else Not(child)
    checker = _PREDICATES.get(key)
    if checker is None:
        problems.append(Problem(path, f"unknown condition {key!r}; expected one of {', '.join(_KEYS)}"))
        return None
    before = len(problems)
    checked = checker(value, here, problems, tags)
    return Predicate(key, checked) if len(problems) == before else None


#: Where an operator finds the tag codes a rule may name (the profiles API, which keeps the tags).
TAXONOMY_LISTING = "GET /accounts/{appid}/profiles/taxonomy"


def _tag_code(value: object, path: str, problems: list[Problem], tags: frozenset[str] | None) -> str | None:
    if not isinstance(value, str) or not value:
        problems.append(Problem(path, "expected a tag code"))
        return None
    if tags is not None and value not in tags:
        problems.append(Problem(path, f"{value!r} is not a tag of the taxonomy ({TAXONOMY_LISTING} lists the codes)"))
        return None
    return value


def _whole(value: object, path: str, problems: list[Problem], low: int, high: int) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        problems.append(Problem(path, f"expected a whole number from {low} to {high}"))
        return None
    return value


def _range(value: object, path: str, problems: list[Problem], high: int) -> tuple[int, int] | None:
    if not isinstance(value, dict) or not value or set(value) - {"min", "max"}:
        problems.append(Problem(path, 'expected {"min": n, "max": n} (either may be left out)'))
        return None
    low = _whole(value.get("min", 0), f"{path}.min", problems, 0, high)
    top = _whole(value.get("max", high), f"{path}.max", problems, 0, high)
    if low is None or top is None:
        return None
    if low > top:
        problems.append(Problem(path, f"min {low} is above max {top}"))
        return None
    return low, top


def _choices(value: object, path: str, problems: list[Problem], allowed: Sequence[str]) -> frozenset[str] | None:
    if not isinstance(value, list) or not value:
        problems.append(Problem(path, f"expected a non-empty list of {', '.join(allowed)}"))
        return None
    wrong = [item for item in value if item not in allowed]
    if wrong:
        problems.append(Problem(path, f"unknown {', '.join(map(repr, wrong))}; expected {', '.join(allowed)}"))
        return None
    return frozenset(value)


def _text(value: object, path: str, problems: list[Problem], what: str) -> str | None:
    if not isinstance(value, str) or not value.strip() or len(value) > 128:
        problems.append(Problem(path, f"expected {what}"))
        return None
    return value


def _check_has_tag(value: object, path: str, problems: list[Problem], tags: frozenset[str] | None) -> object:
    return _tag_code(value, path, problems, tags)


def _check_tag_weight(value: object, path: str, problems: list[Problem], tags: frozenset[str] | None) -> object:
    if not isinstance(value, dict) or set(value) != {"code", "min"}:
        problems.append(Problem(path, 'expected {"code": tag code, "min": weight}'))
        return None
    code = _tag_code(value["code"], f"{path}.code", problems, tags)
    weight = value["min"]
    if (
        isinstance(weight, bool)
        or not isinstance(weight, int | float)
        or not 0 < weight <= MAX_TAG_WEIGHT
        or abs(weight * 10 - round(weight * 10)) > 1e-9
    ):
        # One decimal: the live index keeps weights in tenths (see membership.WEIGHT_STEPS).
        problems.append(Problem(f"{path}.min", f"expected a weight above 0 and up to {MAX_TAG_WEIGHT:g}, in tenths"))
        return None
    return (code, round(float(weight), 1))


def _check_stage_in(value: object, path: str, problems: list[Problem], tags: frozenset[str] | None) -> object:
    return _choices(value, path, problems, _STAGES)


def _check_weeks(value: object, path: str, problems: list[Problem], tags: frozenset[str] | None) -> object:
    return _range(value, path, problems, 42)


def _check_months(value: object, path: str, problems: list[Problem], tags: frozenset[str] | None) -> object:
    return _range(value, path, problems, 240)


def _check_day(value: object, path: str, problems: list[Problem], tags: frozenset[str] | None) -> object:
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    problems.append(Problem(path, f"{value!r} is not a date, YYYY-MM-DD"))
    return None


def _check_days(value: object, path: str, problems: list[Problem], tags: frozenset[str] | None) -> object:
    return _whole(value, path, problems, 1, 3650)


def _check_campaign(value: object, path: str, problems: list[Problem], tags: frozenset[str] | None) -> object:
    return _text(value, path, problems, "a campaign id")


def _check_invited(value: object, path: str, problems: list[Problem], tags: frozenset[str] | None) -> object:
    if not isinstance(value, dict) or "count" not in value or set(value) - {"count", "campaign"}:
        problems.append(Problem(path, 'expected {"count": n, "campaign": id (optional)}'))
        return None
    count = _whole(value["count"], f"{path}.count", problems, 1, 100_000)
    campaign = value.get("campaign")
    if campaign is not None:
        campaign = _text(campaign, f"{path}.campaign", problems, "a campaign id")
    return (count, campaign)


def _check_spend(value: object, path: str, problems: list[Problem], tags: frozenset[str] | None) -> object:
    return _choices(value, path, problems, _SPEND_TIERS)


def _check_consent(value: object, path: str, problems: list[Problem], tags: frozenset[str] | None) -> object:
    if value not in _CONSENTS:
        problems.append(Problem(path, f"expected one of {', '.join(_CONSENTS)}"))
        return None
    return value


def _check_account(value: object, path: str, problems: list[Problem], tags: frozenset[str] | None) -> object:
    return _text(value, path, problems, "an account appid")


_PREDICATES = {
    "has_tag": _check_has_tag,
    "tag_weight": _check_tag_weight,
    "stage_in": _check_stage_in,
    "pregnancy_week": _check_weeks,
    "baby_age_months": _check_months,
    "followed_since": _check_day,
    "followed_before": _check_day,
    "active_within_days": _check_days,
    "joined_campaign": _check_campaign,
    "invited_at_least": _check_invited,
    "spend_tier": _check_spend,
    "consent": _check_consent,
    "account": _check_account,
}
_KEYS = ("all", "any", "not", *_PREDICATES)


# -- evaluation -----------------------------------------------------------------------------------------


def evaluate(rule: Rule, member: MemberFacts, now: datetime) -> bool:
    return explain(rule, member, now).held


def explain(
    rule: Rule, member: MemberFacts, now: datetime, language: str = "en", names: Mapping[str, str] | None = None
) -> Explanation:
    """Whether ``member`` is in the segment, node by node: "why is this member in it". ``names`` as for
    :func:`summarize` (tag codes -> names)."""
    match rule:
        case All(children):
            parts = tuple(explain(child, member, now, language, names) for child in children)
            return Explanation(all(part.held for part in parts), summarize(rule, language, names), parts)
        case AnyOf(children):
            parts = tuple(explain(child, member, now, language, names) for child in children)
            return Explanation(any(part.held for part in parts), summarize(rule, language, names), parts)
        case Not(child):
            part = explain(child, member, now, language, names)
            return Explanation(not part.held, summarize(rule, language, names), (part,))
        case Predicate():
            return Explanation(_holds(rule, member, now), summarize(rule, language, names))
    raise TypeError(f"not a rule: {rule!r}")


def _holds(predicate: Predicate, member: MemberFacts, now: datetime) -> bool:
    value = predicate.value
    match predicate.kind:
        case "has_tag":
            return value in member.tags
        case "tag_weight":
            code, weight = value
            return bool(member.tags.get(code, 0.0) >= weight)
        case "stage_in":
            stage = stage_today(member, now.date())
            return stage is not None and stage.stage.value in value
        case "pregnancy_week":
            week = (stage := stage_today(member, now.date())) and stage.pregnancy_week
            return week is not None and value[0] <= week <= value[1]
        case "baby_age_months":
            age = (stage := stage_today(member, now.date())) and stage.age_months
            return age is not None and value[0] <= age <= value[1]
        case "followed_since":
            return member.first_followed_at is not None and member.first_followed_at.date() >= value
        case "followed_before":
            return member.first_followed_at is not None and member.first_followed_at.date() < value
        case "active_within_days":
            # Whole days, as the live index keeps them: on or after the day the window starts.
            since = (now - timedelta(days=value)).date()
            return member.last_active_at is not None and member.last_active_at.date() >= since
        case "joined_campaign":
            return value in member.campaigns
        case "invited_at_least":
            count, campaign = value
            done = member.invites.get(campaign, 0) if campaign else sum(member.invites.values())
            return bool(done >= count)
        case "spend_tier":
            return member.spend_tier in value
        case "consent":
            return value in member.consents
        case "account":
            return bool(member.appid == value)
    raise ValueError(f"unknown condition {predicate.kind!r}")


# -- summaries ------------------------------------------------------------------------------------------

_STAGE_NAMES = {
    "stage.preparing": ("preparing for pregnancy", "备孕"),
    "stage.pregnancy.early": ("early pregnancy", "孕早期"),
    "stage.pregnancy.mid": ("mid pregnancy", "孕中期"),
    "stage.pregnancy.late": ("late pregnancy", "孕晚期"),
    "stage.baby.0_6m": ("baby 0-6 months", "0-6个月"),
    "stage.baby.6_12m": ("baby 6-12 months", "6-12个月"),
    "stage.child.1_3y": ("child 1-3 years", "1-3岁"),
    "stage.child.3y_plus": ("child 3 years and up", "3岁以上"),
}
_CONSENT_NAMES = {"marketing": ("marketing messages", "营销消息"), "data_use": ("data use", "数据使用")}


def summarize(rule: Rule, language: str = "en", names: Mapping[str, str] | None = None) -> str:
    """A readable sentence for ``rule``: ``language`` "en" or "zh"; ``names`` maps tag codes to names in
    that language. A named tag reads as its name with its code (``「奶粉」(interest.feeding.formula)``,
    ``"Formula" (interest.feeding.formula)``) in both languages, so a summary names what it selects and
    the code a rule or an API call takes; a tag without a name reads as its code."""
    zh = language.startswith("zh")
    names = names or {}

    def tag(code: str) -> str:
        name = names.get(code)
        if not name or name == code:
            return f"「{code}」" if zh else code
        return f"「{name}」({code})" if zh else f'"{name}" ({code})'

    def join(children: Sequence[Rule], word: str) -> str:
        parts = []
        for child in children:
            text = summarize(child, language, names)
            grouped = isinstance(child, All | AnyOf) and len(child.children) > 1
            parts.append((f"（{text}）" if zh else f"({text})") if grouped else text)
        return f" {word} ".join(parts)

    match rule:
        case All(children):
            return join(children, "且" if zh else "and")
        case AnyOf(children):
            return join(children, "或" if zh else "or")
        case Not(child):
            inner = summarize(child, language, names)
            return f"非（{inner}）" if zh else f"not ({inner})"
        case Predicate(kind, value):
            return _predicate_text(kind, value, zh, tag)
    raise TypeError(f"not a rule: {rule!r}")


def _predicate_text(kind: str, value: Any, zh: bool, tag: Any) -> str:
    match kind:
        case "has_tag":
            return f"有标签{tag(value)}" if zh else f"has tag {tag(value)}"
        case "tag_weight":
            return f"{tag(value[0])}权重≥{value[1]:g}" if zh else f"{tag(value[0])} weight ≥ {value[1]:g}"
        case "stage_in":
            stages = [_STAGE_NAMES[s][1 if zh else 0] for s in sorted(value, key=_STAGES.index)]
            return f"阶段为{'/'.join(stages)}" if zh else f"stage is {' or '.join(stages)}"
        case "pregnancy_week":
            return f"孕{value[0]}-{value[1]}周" if zh else f"pregnancy week {value[0]}-{value[1]}"
        case "baby_age_months":
            return f"宝宝{value[0]}-{value[1]}个月" if zh else f"baby {value[0]}-{value[1]} months old"
        case "followed_since":
            return f"{value.isoformat()}起关注" if zh else f"following since {value.isoformat()}"
        case "followed_before":
            return f"{value.isoformat()}前关注" if zh else f"following from before {value.isoformat()}"
        case "active_within_days":
            return f"近{value}天有互动" if zh else f"active in the last {value} days"
        case "joined_campaign":
            return f"参加了活动 {value}" if zh else f"joined campaign {value}"
        case "invited_at_least":
            count, campaign = value
            where = (f"在活动 {campaign} " if zh else f" in campaign {campaign}") if campaign else ""
            return f"{where}邀请≥{count}人" if zh else f"invited at least {count}{where}"
        case "spend_tier":
            tiers = "/".join(sorted(t.removeprefix("spend.").upper() for t in value))
            return f"消费等级{tiers}" if zh else f"spend tier {tiers}"
        case "consent":
            name = _CONSENT_NAMES[value][1 if zh else 0]
            return f"同意接收{name}" if zh else f"consented to {name}"
        case "account":
            return f"公众号 {value}" if zh else f"account {value}"
    raise ValueError(f"unknown condition {kind!r}")
