"""The campaign aggregate: what a share-poster referral campaign (任务宝) is and which changes it allows.

Pure: no I/O. Every rule an operator can break is checked here and reported with the field it concerns,
so the HTTP API can answer 422 naming it.

Errors::

    CampaignError
    ├── CampaignInvalid       a value breaks a rule (422); ``field`` names it, dotted (``tiers.1.count``)
    ├── IllegalTransition     the status does not allow this move (409)
    │   └── ActivationBlocked every reason the campaign cannot start yet, at once (422)
    ├── EditNotAllowed        the status does not allow this change (409)
    └── VersionConflict       someone saved the campaign since it was read (409)

Lifecycle::

    draft ──activate──▶ active ◀──activate── paused
      │                   │ ──────pause──────▶ │
    delete                └──end──▶ ended ◀─end┘      (ended is final; it may be archived)
"""

from __future__ import annotations

import re
import string
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import ClassVar

from services.campaigns.domain.payouts import PayoutPolicyInvalid, SharePayoutPolicy


class CampaignError(Exception):
    """Base of every campaign rule violation."""


class CampaignInvalid(CampaignError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class IllegalTransition(CampaignError):
    pass


@dataclass(frozen=True)
class Problem:
    """Why a campaign cannot start (or what to know before it does): the field, dotted, and what is wrong."""

    field: str
    problem: str


class ActivationBlocked(IllegalTransition):
    """Activation refused for every one of ``problems`` (all reported together, not one per attempt)."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("cannot activate: " + "; ".join(f"{p.field}: {p.problem}" for p in self.problems))


class EditNotAllowed(CampaignError):
    pass


class VersionConflict(CampaignError):
    pass


class CampaignStatus(StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    PAUSED = "paused"
    ENDED = "ended"


class RewardBasis(StrEnum):
    """What a reward is earned for.

    ``verified_followers`` (the default) counts invitees who followed through the inviter's code and
    stayed following past the revocation window. WeChat's operating rules prohibit rewarding the act
    of sharing to Moments (诱导分享) and may punish it by removing the followers gained; rewarding a
    verified outcome (a new follower who stays) is the safer design.

    ``share_screenshot`` rewards a reviewed screenshot of the shared poster. It exists for operators who
    accept that risk, and only together with the campaign's share-screenshot task, which collects and
    reviews those screenshots.
    """

    VERIFIED_FOLLOWERS = "verified_followers"
    SHARE_SCREENSHOT = "share_screenshot"


#: Reward pool names: short, URL-safe (they appear in paths).
POOL_NAME = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
#: A scannable QR code on a phone screen needs some pixels.
MIN_QR_SIZE = 64
MAX_TIERS = 10
MAX_TEXT_SLOTS = 5
MAX_MESSAGE_CHARS = 600
MAX_NAME_CHARS = 100
#: The text slots the poster renderer knows how to fill.
TEXT_SLOT_NAMES = frozenset({"nickname", "campaign_name", "ends_on"})
_COLOUR = re.compile(r"^#[0-9A-Fa-f]{6}$")


def new_campaign_id() -> str:
    return uuid.uuid4().hex


def _require(condition: bool, field: str, message: str) -> None:
    if not condition:
        raise CampaignInvalid(field, message)


# -- value objects -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class JoinMethods:
    """How a member joins: following through the campaign's own QR code, a keyword, a menu click."""

    follow_qr: bool = True
    keywords: tuple[str, ...] = ()
    menu_keys: tuple[str, ...] = ()

    def validate(self) -> None:
        _require(self.follow_qr or bool(self.keywords) or bool(self.menu_keys), "join", "enable at least one method")
        for name, values in (("keywords", self.keywords), ("menu_keys", self.menu_keys)):
            for index, value in enumerate(values):
                _require(value.strip() == value and bool(value), f"join.{name}.{index}", "blank or padded")
            _require(len(set(values)) == len(values), f"join.{name}", "duplicates")

    def matches_keyword(self, text: str) -> bool:
        return text.strip() in self.keywords

    def matches_menu_key(self, key: str) -> bool:
        return key in self.menu_keys


@dataclass(frozen=True)
class QrBox:
    """Where the member's QR code goes on the poster: top-left corner and side, in image pixels."""

    x: int
    y: int
    size: int


@dataclass(frozen=True)
class TextSlot:
    """A line of text drawn on the poster (``nickname`` etc.), its top-left corner at (x, y)."""

    name: str
    x: int
    y: int
    font_size: int
    colour: str = "#000000"


@dataclass(frozen=True)
class PosterTemplate:
    """The background image (stored separately, by id) and where the QR code and texts go on it."""

    image_id: str
    width: int
    height: int
    qr: QrBox
    text_slots: tuple[TextSlot, ...] = ()

    def validate(self) -> None:
        _require(self.width > 0 and self.height > 0, "template", "image has no size")
        qr = self.qr
        _require(qr.size >= MIN_QR_SIZE, "template.qr.size", f"at least {MIN_QR_SIZE} pixels")
        _require(qr.x >= 0 and qr.y >= 0, "template.qr", "corner outside the image")
        _require(
            qr.x + qr.size <= self.width and qr.y + qr.size <= self.height,
            "template.qr",
            f"box ({qr.x}, {qr.y}, {qr.size}) does not fit inside the {self.width}x{self.height} image",
        )
        _require(len(self.text_slots) <= MAX_TEXT_SLOTS, "template.text_slots", f"at most {MAX_TEXT_SLOTS}")
        names = [slot.name for slot in self.text_slots]
        _require(len(set(names)) == len(names), "template.text_slots", "each slot name once")
        for index, slot in enumerate(self.text_slots):
            where = f"template.text_slots.{index}"
            _require(slot.name in TEXT_SLOT_NAMES, f"{where}.name", f"one of {sorted(TEXT_SLOT_NAMES)}")
            _require(8 <= slot.font_size <= 200, f"{where}.font_size", "between 8 and 200")
            _require(bool(_COLOUR.match(slot.colour)), f"{where}.colour", "a colour like #1A2B3C")
            _require(
                0 <= slot.x < self.width and slot.y >= 0 and slot.y + slot.font_size <= self.height,
                where,
                f"text at ({slot.x}, {slot.y}) size {slot.font_size} does not fit inside the image",
            )


@dataclass(frozen=True)
class InviteTier:
    """Reaching ``count`` credited invites grants one code from reward pool ``pool``."""

    count: int
    pool: str


def validate_tiers(tiers: tuple[InviteTier, ...]) -> None:
    _require(len(tiers) <= MAX_TIERS, "tiers", f"at most {MAX_TIERS}")
    previous = 0
    for index, tier in enumerate(tiers):
        _require(tier.count >= 1, f"tiers.{index}.count", "at least 1")
        _require(tier.count > previous, f"tiers.{index}.count", "counts must be strictly ascending")
        _require(bool(POOL_NAME.match(tier.pool)), f"tiers.{index}.pool", "letters, digits, _ or -, at most 32")
        previous = tier.count


@dataclass(frozen=True)
class Messages:
    """The texts members receive. ``{name}`` placeholders are filled when sending; each text may use
    only the names listed in :attr:`PLACEHOLDERS` for it (checked on every change)."""

    welcome: str = "欢迎参加「{campaign}」！把下方专属海报分享给好友，邀请 {target} 位好友关注即可领取奖励。"
    progress: str = "已邀请 {count}/{target}，再邀请 {remaining} 位即可领取奖励。"
    tier_reached: str = "恭喜！已成功邀请 {count} 位好友，奖励券码：{code}"
    ended: str = "「{campaign}」活动已结束，感谢参与！"
    share_approved: str = "分享截图审核通过，感谢分享！奖励券码：{code}"
    share_rejected: str = "分享截图未通过：{reason}。修改后可重新发送截图。"
    share_review: str = "分享截图已收到，正在人工审核，结果会通过消息通知您。"
    #: The reply to an approved screenshot when the share task pays nothing (no share reward pool).
    share_thanked: str = "分享截图审核通过，感谢分享！"
    #: Delayed payouts (``share_payout``): the approval's reply, the re-check request, a re-check that
    #: passed while the payout still waits, and a reward forfeited (re-check failed or not sent).
    share_pending: str = "分享截图审核通过，感谢分享！奖励将在 {hours} 小时后发放。"
    share_recheck: str = (
        "「{campaign}」奖励发放前复查：请在 {hours} 小时内再发送一张您那条朋友圈的最新截图"
        "（同一条内容，不要重新发布）。"
    )
    share_recheck_passed: str = "复查通过，奖励将按时发放。"
    share_forfeited: str = "很抱歉，「{campaign}」的分享奖励未能发放：{reason}。"

    PLACEHOLDERS: ClassVar[Mapping[str, frozenset[str]]] = {
        "welcome": frozenset({"campaign", "nickname", "target", "ends_on"}),
        "progress": frozenset({"campaign", "nickname", "count", "target", "remaining", "pending"}),
        "tier_reached": frozenset({"campaign", "nickname", "count", "code"}),
        "ended": frozenset({"campaign", "nickname", "count"}),
        "share_approved": frozenset({"campaign", "code"}),
        "share_rejected": frozenset({"campaign", "reason"}),
        "share_review": frozenset({"campaign"}),
        "share_thanked": frozenset({"campaign"}),
        "share_pending": frozenset({"campaign", "hours"}),
        "share_recheck": frozenset({"campaign", "hours"}),
        "share_recheck_passed": frozenset({"campaign"}),
        "share_forfeited": frozenset({"campaign", "reason"}),
    }
    #: Placeholders a text must contain, or it says nothing useful.
    REQUIRED: ClassVar[Mapping[str, frozenset[str]]] = {
        "progress": frozenset({"count"}),
        "share_approved": frozenset({"code"}),
        "share_rejected": frozenset({"reason"}),
        "share_forfeited": frozenset({"reason"}),
    }

    def validate(self) -> None:
        for name, allowed in self.PLACEHOLDERS.items():
            text: str = getattr(self, name)
            where = f"messages.{name}"
            _require(bool(text.strip()), where, "must not be blank")
            _require(len(text) <= MAX_MESSAGE_CHARS, where, f"at most {MAX_MESSAGE_CHARS} characters")
            used = placeholders(text, where)
            unknown = used - allowed
            _require(not unknown, where, f"unknown placeholder {sorted(unknown)}; allowed: {sorted(allowed)}")
            missing = self.REQUIRED.get(name, frozenset()) - used
            _require(not missing, where, f"must contain {', '.join('{' + m + '}' for m in sorted(missing))}")

    def render(self, name: str, **values: object) -> str:
        """The text ``name`` with its placeholders filled (every placeholder it uses must be given)."""
        text: str = getattr(self, name)
        return text.format_map({key: str(value) for key, value in values.items()})


def placeholders(text: str, where: str = "text") -> set[str]:
    """The ``{name}`` placeholders in ``text``; refuses positional ``{}``, ``{0}``, attribute or index
    access, conversions, format specs and unbalanced braces (write ``{{`` for a literal brace)."""
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise CampaignInvalid(where, f"unbalanced braces ({exc}); write {{{{ or }}}} for a literal brace") from None
    names: set[str] = set()
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        _require(name.isidentifier(), where, f"placeholder {{{name}}} must be a name like {{count}}")
        _require(not spec and conversion is None, where, f"placeholder {{{name}}} takes no format or conversion")
        names.add(name)
    return names


@dataclass(frozen=True)
class Rules:
    """Who gets credit. Self-invites never count and an invitee has at most one inviter: both fixed."""

    first_time_followers_only: bool = True
    #: An invitee who unfollows within this many hours of following takes the credit back (0: never).
    revoke_if_unfollowed_within_hours: int = 48
    #: At most this many credited invites per inviter per day (None: no cap).
    per_inviter_daily_cap: int | None = None
    #: Openids that neither earn credit nor count as invitees.
    blacklist: frozenset[str] = frozenset()

    allow_self_invite: ClassVar[bool] = False
    one_inviter_per_invitee: ClassVar[bool] = True

    def validate(self) -> None:
        _require(
            0 <= self.revoke_if_unfollowed_within_hours <= 24 * 90,
            "rules.revoke_if_unfollowed_within_hours",
            "between 0 and 2160",
        )
        cap = self.per_inviter_daily_cap
        _require(cap is None or cap >= 1, "rules.per_inviter_daily_cap", "at least 1, or null for no cap")
        _require(all(openid.strip() for openid in self.blacklist), "rules.blacklist", "blank openid")

    def is_blacklisted(self, openid: str) -> bool:
        return openid in self.blacklist


# -- changes -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CampaignChanges:
    """An edit: every field left ``None`` stays as it is. ``template`` may only be replaced, not cleared."""

    name: str | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    join: JoinMethods | None = None
    template: PosterTemplate | None = None
    tiers: tuple[InviteTier, ...] | None = None
    messages: Messages | None = None
    rules: Rules | None = None
    reward_basis: RewardBasis | None = None
    share_screenshot_task: bool | None = None
    share_reward_pool: str | None = None
    share_payout: SharePayoutPolicy | None = None

    def given(self) -> dict[str, object]:
        return {name: value for name, value in vars(self).items() if value is not None}


#: What may change while a campaign runs: members already hold posters and progress under its rules.
_LIVE_EDITABLE = frozenset({"name", "messages", "ends_at", "rules"})


# -- the aggregate -------------------------------------------------------------------------------------


@dataclass
class Campaign:
    id: str
    appid: str
    name: str
    starts_at: datetime
    ends_at: datetime
    created_at: datetime
    updated_at: datetime
    status: CampaignStatus = CampaignStatus.DRAFT
    join: JoinMethods = field(default_factory=JoinMethods)
    template: PosterTemplate | None = None
    tiers: tuple[InviteTier, ...] = ()
    messages: Messages = field(default_factory=Messages)
    rules: Rules = field(default_factory=Rules)
    reward_basis: RewardBasis = RewardBasis.VERIFIED_FOLLOWERS
    share_screenshot_task: bool = False
    #: The reward pool an approved share screenshot draws its one code from (required with
    #: ``reward_basis: share_screenshot``; without one the task thanks members and pays nothing).
    share_reward_pool: str | None = None
    #: Bumped by every save; a save from a stale read is refused (:class:`VersionConflict`).
    version: int = 0
    #: When an ended campaign was put away: left out of the account's list unless asked for.
    archived_at: datetime | None = None
    #: When the share reward is paid and whom a re-check is asked of (default: at approval, none).
    share_payout: SharePayoutPolicy = field(default_factory=SharePayoutPolicy)

    @classmethod
    def create(
        cls,
        *,
        appid: str,
        name: str,
        starts_at: datetime,
        ends_at: datetime,
        now: datetime,
        campaign_id: str | None = None,
        join: JoinMethods | None = None,
        template: PosterTemplate | None = None,
        tiers: Iterable[InviteTier] = (),
        messages: Messages | None = None,
        rules: Rules | None = None,
        reward_basis: RewardBasis = RewardBasis.VERIFIED_FOLLOWERS,
        share_screenshot_task: bool = False,
        share_reward_pool: str | None = None,
        share_payout: SharePayoutPolicy | None = None,
    ) -> Campaign:
        """A new draft, validated."""
        campaign = cls(
            id=campaign_id or new_campaign_id(),
            appid=appid,
            name=name,
            starts_at=starts_at,
            ends_at=ends_at,
            created_at=now,
            updated_at=now,
            join=join or JoinMethods(),
            template=template,
            tiers=tuple(tiers),
            messages=messages or Messages(),
            rules=rules or Rules(),
            reward_basis=reward_basis,
            share_screenshot_task=share_screenshot_task,
            share_reward_pool=share_reward_pool,
            share_payout=share_payout or SharePayoutPolicy(),
        )
        campaign.validate()
        _require(ends_at > now, "ends_at", "must be in the future")
        return campaign

    # -- queries ---------------------------------------------------------------------------------------

    @property
    def target(self) -> int | None:
        """The first tier's count: what the welcome and progress texts aim at."""
        return self.tiers[0].count if self.tiers else None

    def next_tier(self, credited: int) -> InviteTier | None:
        """The lowest tier not yet reached with ``credited`` invites."""
        return next((tier for tier in self.tiers if tier.count > credited), None)

    def tier_reached_at(self, credited: int) -> InviteTier | None:
        """The tier whose count is exactly ``credited``, if any: reaching it grants its reward."""
        return next((tier for tier in self.tiers if tier.count == credited), None)

    def is_running(self, now: datetime) -> bool:
        """Active and inside its dates: members can join and invites are credited."""
        return self.status is CampaignStatus.ACTIVE and self.starts_at <= now < self.ends_at

    # -- rules -----------------------------------------------------------------------------------------

    def validate(self) -> None:
        _require(bool(self.name.strip()), "name", "must not be blank")
        _require(len(self.name) <= MAX_NAME_CHARS, "name", f"at most {MAX_NAME_CHARS} characters")
        for name in ("starts_at", "ends_at"):
            moment: datetime = getattr(self, name)
            _require(moment.utcoffset() is not None, name, "needs a time zone")
        _require(self.ends_at > self.starts_at, "ends_at", "must be after starts_at")
        self.join.validate()
        if self.template is not None:
            self.template.validate()
        validate_tiers(self.tiers)
        self.messages.validate()
        self.rules.validate()
        _require(
            self.reward_basis is not RewardBasis.SHARE_SCREENSHOT or self.share_screenshot_task,
            "reward_basis",
            "share_screenshot needs the share-screenshot task (share_screenshot_task: true)",
        )
        if self.reward_basis is RewardBasis.SHARE_SCREENSHOT:
            # The basis pays per approved screenshot. Under verified_followers the task may run
            # without a pool: screenshots are checked and thanked, never paid (no 诱导分享 reward).
            _require(
                self.share_reward_pool is not None,
                "share_reward_pool",
                "required with the share-screenshot task: the pool an approved screenshot's code comes from",
            )
        if self.share_reward_pool is not None:
            _require(
                bool(POOL_NAME.match(self.share_reward_pool)),
                "share_reward_pool",
                "letters, digits, _ or -, at most 32",
            )
        try:
            self.share_payout.validate()
        except PayoutPolicyInvalid as exc:
            raise CampaignInvalid(exc.field, exc.message) from None
        _require(
            self.share_payout.immediate or self.share_reward_pool is not None,
            "share_payout",
            "a delayed payout or a re-check needs the share reward pool (share_reward_pool) it pays from",
        )

    # -- lifecycle -------------------------------------------------------------------------------------

    def activation_problems(self, now: datetime) -> list[Problem]:
        """Everything that keeps the campaign from starting at ``now`` (its status aside), in field order."""
        problems = []
        if self.template is None:
            problems.append(Problem("template", "no poster template yet: upload the background and layout"))
        if not self.tiers:
            problems.append(Problem("tiers", "no invite tier yet: add at least one (count and reward pool)"))
        if now >= self.ends_at:
            problems.append(Problem("ends_at", f"the campaign ended at {self.ends_at.isoformat()}; set a later end"))
        return problems

    def activate(self, now: datetime) -> None:
        """Start (from draft) or resume (from paused); :class:`ActivationBlocked` lists every problem."""
        if self.status not in (CampaignStatus.DRAFT, CampaignStatus.PAUSED):
            raise IllegalTransition(f"cannot activate a campaign that is {self.status}")
        problems = self.activation_problems(now)
        if problems:
            raise ActivationBlocked(problems)
        self._move(CampaignStatus.ACTIVE, now)

    def pause(self, now: datetime) -> None:
        if self.status is not CampaignStatus.ACTIVE:
            raise IllegalTransition(f"cannot pause a campaign that is {self.status}; only an active one")
        self._move(CampaignStatus.PAUSED, now)

    def end(self, now: datetime) -> None:
        if self.status not in (CampaignStatus.ACTIVE, CampaignStatus.PAUSED):
            raise IllegalTransition(f"cannot end a campaign that is {self.status}; only an active or paused one")
        self._move(CampaignStatus.ENDED, now)

    def archive(self, now: datetime) -> None:
        """Put an ended campaign away (its records, stats and rewards stay); once."""
        if self.status is not CampaignStatus.ENDED:
            raise IllegalTransition(f"cannot archive a campaign that is {self.status}; end it first")
        if self.archived_at is not None:
            raise IllegalTransition("the campaign is archived already")
        self.archived_at = now
        self.updated_at = now

    def check_deletable(self) -> None:
        """Only a draft may be deleted: once a campaign ran, members hold its posters and rewards."""
        if self.status is not CampaignStatus.DRAFT:
            raise IllegalTransition(
                f"cannot delete a campaign that is {self.status}; only a draft (end and archive it instead)"
            )

    def _move(self, status: CampaignStatus, now: datetime) -> None:
        self.status = status
        self.updated_at = now

    # -- edits -----------------------------------------------------------------------------------------

    def edit(self, changes: CampaignChanges, now: datetime) -> None:
        """Apply ``changes`` if the status allows them, and only if the result is valid.

        Draft and paused campaigns take any change. An active one takes only a new name, new message
        texts, a later end and more blacklisted openids: members already hold posters and progress under
        its other settings. An ended one takes none.
        """
        given = changes.given()
        if self.status is CampaignStatus.ENDED and given:
            raise EditNotAllowed("an ended campaign cannot be edited")
        if self.status is CampaignStatus.ACTIVE:
            self._check_live_edit(changes, given)
        edited = replace(self, **given)  # type: ignore[arg-type]
        edited.validate()
        if changes.ends_at is not None and self.status is not CampaignStatus.DRAFT:
            _require(changes.ends_at > now, "ends_at", "must be in the future")
        for name, value in given.items():
            setattr(self, name, value)
        self.updated_at = now

    def _check_live_edit(self, changes: CampaignChanges, given: Mapping[str, object]) -> None:
        refused = sorted({name for name, value in given.items() if getattr(self, name) != value} - _LIVE_EDITABLE)
        if refused:
            raise EditNotAllowed(
                f"an active campaign cannot change {', '.join(refused)}; pause it first "
                "(while active: name, messages, a later ends_at, blacklist additions)"
            )
        if changes.ends_at is not None and changes.ends_at < self.ends_at:
            raise EditNotAllowed("an active campaign's end can only be extended; pause it to bring it forward")
        if changes.rules is not None and changes.rules != self.rules:
            unchanged = replace(changes.rules, blacklist=self.rules.blacklist) == self.rules
            if not unchanged or not changes.rules.blacklist >= self.rules.blacklist:
                raise EditNotAllowed("an active campaign's rules only take blacklist additions; pause it first")
