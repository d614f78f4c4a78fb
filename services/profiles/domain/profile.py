"""The member profile: who a member is to the brand, built from what they say and what they do. Pure.

Per (account, openid), with the unionid when known. It holds the follow state (first and last follow,
last unfollow) and the last interaction, consent (what the member agreed to, when and how), tags keyed
by code and source, the life-stage declarations the current stage is computed
from, per-month mall spend, and the mall events already applied (so a redelivered event changes
nothing). Every change is returned as :class:`Change` entries: the adapter appends them to the
history in the same write as the profile.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum

from services.profiles.domain.mall import MallEvent, interpret
from services.profiles.domain.tags import DEFAULT_HALF_LIFE, Tag, TagSource, reinforce
from shared.maternal_infant import (
    Basis,
    Confidence,
    LifeStage,
    StageDeclaration,
    Taxonomy,
    current_declaration,
    current_stage,
    spend_tier,
    stage_of,
)

__all__ = ["Change", "Consent", "ConsentKind", "Follow", "InterestPick", "Profile", "ProfileError", "TagView"]

#: Mall event ids remembered per profile for idempotency (older ones are long past redelivery).
_APPLIED_EVENTS_KEPT = 200


class ProfileError(ValueError):
    """A change the profile refuses (an unknown tag code, say); the message says which."""


class ConsentKind(StrEnum):
    MARKETING = "marketing"  # marketing messages (targeted pushes)
    DATA_USE = "data_use"  # using behaviour to personalize


@dataclass(frozen=True)
class Consent:
    given: bool
    at: datetime
    #: How: "h5_form", "survey", "keyword", "ops", ...
    via: str


@dataclass(frozen=True)
class Change:
    """One entry of the profile's history."""

    at: datetime
    kind: str  # tag_added, tag_removed, tag_weight, stage_declared, stage_withdrawn, consent, mall_event
    detail: dict[str, object]
    actor: str = "system"


@dataclass(frozen=True)
class InterestPick:
    """What a member fills in on the H5 page after following: their stage, interests and consents."""

    basis: Basis
    on: date | None
    interests: tuple[str, ...]
    marketing: bool
    data_use: bool

    def check(self, taxonomy: Taxonomy, today: date) -> None:
        """Refuse what cannot be true, naming the field: a past due date, a future birthday, an
        unknown interest."""
        if (self.basis is Basis.PREPARING) != (self.on is None):
            raise ProfileError("on: a due date or birthday needs its date; 'preparing' has none")
        on = self.on
        earliest_birthday, latest_due = today - timedelta(days=14 * 366), today + timedelta(days=301)
        if on is not None and self.basis is Basis.DUE_DATE and not today <= on <= latest_due:
            raise ProfileError("on: a due date is between today and 43 weeks from now")
        if on is not None and self.basis is Basis.BIRTHDAY and not earliest_birthday <= on <= today:
            raise ProfileError("on: a birthday is in the last 14 years and not in the future")
        for code in self.interests:
            if code not in taxonomy or not code.startswith("interest."):
                raise ProfileError(f"interests: {code!r} is not an interest of the taxonomy")


@dataclass(frozen=True)
class TagView:
    code: str
    source: TagSource
    weight: float
    first_seen: datetime
    last_seen: datetime


@dataclass
class Follow:
    """The member's follow history as far as the platform has told us (pushes or the import)."""

    first_followed_at: datetime | None = None
    last_followed_at: datetime | None = None
    last_unfollowed_at: datetime | None = None

    @property
    def following(self) -> bool:
        followed, unfollowed = self.last_followed_at, self.last_unfollowed_at
        return followed is not None and (unfollowed is None or followed > unfollowed)


@dataclass
class Profile:
    appid: str
    openid: str
    unionid: str | None = None
    follow: Follow = field(default_factory=Follow)
    #: The member's last interaction (follow, scan, message, menu): it opens WeChat's 48-hour window for
    #: customer-service messages.
    last_active_at: datetime | None = None
    tags: dict[tuple[str, TagSource], Tag] = field(default_factory=dict)
    declarations: list[StageDeclaration] = field(default_factory=list)
    consents: dict[ConsentKind, Consent] = field(default_factory=dict)
    spend_by_month: dict[str, int] = field(default_factory=dict)
    applied_events: list[str] = field(default_factory=list)
    version: int = 0

    # -- queries -----------------------------------------------------------------------------------------

    def stage(self, today: date) -> LifeStage | None:
        return current_stage(self.declarations, today)

    def consented(self, kind: ConsentKind) -> bool:
        consent = self.consents.get(kind)
        return consent is not None and consent.given

    def tag_views(self, now: datetime, half_life: timedelta = DEFAULT_HALF_LIFE) -> list[TagView]:
        """Tags as of ``now`` (behavioural weights faded), the stage and spend tier included, strongest first."""
        views = [
            TagView(tag.code, tag.source, round(tag.weight_at(now, half_life), 4), tag.first_seen, tag.last_seen)
            for tag in self.tags.values()
        ]
        counting = current_declaration(self.declarations)
        if counting is not None:
            stage = stage_of(counting, now.date())
            source = TagSource.INFERRED if stage.confidence is Confidence.INFERRED else TagSource.DECLARED
            at = datetime.combine(counting.declared_on, datetime.min.time(), tzinfo=now.tzinfo)
            views.append(TagView(stage.stage.value, source, 1.0, at, at))
        tier = spend_tier(self.spend_by_month, now.date())
        if tier is not None:
            views.append(TagView(tier, TagSource.MALL, 1.0, now, now))
        return sorted(views, key=lambda view: (-view.weight, view.code))

    # -- changes -----------------------------------------------------------------------------------------

    def followed(self, at: datetime, via: str) -> list[Change]:
        """A follow (``via``: the QR scene, "search", "import", ...). Pushes may arrive out of order: each
        one newer than the last of its kind is history; whether the member follows now is whichever of
        the last follow and the last unfollow is later."""
        self.touch(at)
        follow = self.follow
        if follow.first_followed_at is None or at < follow.first_followed_at:
            follow.first_followed_at = at
        if follow.last_followed_at is not None and at <= follow.last_followed_at:
            return []
        follow.last_followed_at = at
        return [Change(at, "followed", {"via": via}, "member")]

    def unfollowed(self, at: datetime) -> list[Change]:
        follow = self.follow
        if follow.last_unfollowed_at is not None and at <= follow.last_unfollowed_at:
            return []
        follow.last_unfollowed_at = at
        return [Change(at, "unfollowed", {}, "member")]

    def touch(self, at: datetime) -> None:
        """An interaction: kept as the latest one, without a history entry (there are many)."""
        if self.last_active_at is None or at > self.last_active_at:
            self.last_active_at = at

    def declare_stage(self, declaration: StageDeclaration, at: datetime, actor: str = "member") -> list[Change]:
        """A due date, a birthday or "preparing", from the member (or inferred from what they buy)."""
        if declaration in self.declarations:
            return []
        self.declarations.append(declaration)
        self.declarations.sort(key=lambda d: d.declared_on)
        detail: dict[str, object] = {
            "basis": declaration.basis.value,
            "on": declaration.on.isoformat() if declaration.on else None,
            "confidence": declaration.confidence.value,
            "source": declaration.source,
        }
        return [Change(at, "stage_declared", detail, actor)]

    def set_consent(self, kind: ConsentKind, given: bool, at: datetime, via: str) -> list[Change]:
        current = self.consents.get(kind)
        if current is not None and (current.at > at or (current.given == given and current.via == via)):
            return []  # an older statement, or nothing new
        self.consents[kind] = Consent(given, at, via)
        changes = [Change(at, "consent", {"kind": kind.value, "given": given, "via": via})]
        if kind is ConsentKind.DATA_USE and not given:
            changes += self._forget_behaviour(at)
        return changes

    def uses_behaviour(self, consent_required: bool = False) -> bool:
        """Whether mall behaviour may shape the member's tags: unless they refused ``data_use`` (PIPL
        art. 24: a member can refuse personalisation from their behaviour; no answer is no refusal), or,
        with ``consent_required``, only once they gave it."""
        consent = self.consents.get(ConsentKind.DATA_USE)
        if consent is None:
            return not consent_required
        return consent.given

    def _forget_behaviour(self, at: datetime) -> list[Change]:
        """What mall behaviour gave (interest and purchase tags, spend, an inferred stage), dropped when
        the member refuses its use; the events stay applied, so a redelivery does not bring it back."""
        changes: list[Change] = []
        for code, source in [key for key in self.tags if key[1] is TagSource.MALL]:
            changes += self.remove_tag(code, source, at, actor="member")
        self.spend_by_month.clear()
        inferred = [d for d in self.declarations if d.source == "mall"]
        if inferred:
            self.declarations = [d for d in self.declarations if d.source != "mall"]
            changes.append(Change(at, "stage_withdrawn", {"inferred_from": "mall", "count": len(inferred)}, "member"))
        return changes

    def add_tag(
        self, taxonomy: Taxonomy, code: str, source: TagSource, at: datetime, weight: float = 1.0, actor: str = "member"
    ) -> list[Change]:
        """Set a tag from a declaration, a survey answer or ops (which do not fade)."""
        if code not in taxonomy:
            raise ProfileError(f"unknown tag code {code!r}; GET /accounts/{{appid}}/profiles/taxonomy lists the codes")
        if code == "stage" or code.startswith("stage."):
            raise ProfileError("life stages come from a due date or birthday, not from a tag")
        existing = self.tags.get((code, source))
        updated = reinforce(existing, code, source, weight, at)
        if updated is None or updated == existing:
            return []
        self.tags[(code, source)] = updated
        kind = "tag_added" if existing is None else "tag_weight"
        return [Change(at, kind, {"code": code, "source": source.value, "weight": updated.weight}, actor)]

    def remove_tag(self, code: str, source: TagSource, at: datetime, actor: str) -> list[Change]:
        if self.tags.pop((code, source), None) is None:
            return []
        return [Change(at, "tag_removed", {"code": code, "source": source.value}, actor)]

    def apply_interest_pick(self, pick: InterestPick, taxonomy: Taxonomy, at: datetime, via: str) -> list[Change]:
        """The H5 page's answers: a declared stage, declared interests, and both consents as given."""
        pick.check(taxonomy, at.date())
        changes = self.declare_stage(StageDeclaration(pick.basis, at.date(), pick.on, source=via), at)
        for code in pick.interests:
            changes += self.add_tag(taxonomy, code, TagSource.DECLARED, at)
        changes += self.set_consent(ConsentKind.MARKETING, pick.marketing, at, via)
        changes += self.set_consent(ConsentKind.DATA_USE, pick.data_use, at, via)
        return changes

    def apply_mall_event(
        self,
        event: MallEvent,
        taxonomy: Taxonomy,
        half_life: timedelta = DEFAULT_HALF_LIFE,
        *,
        consent_required: bool = False,
    ) -> list[Change]:
        """Interests, purchase tag, spend and an inferred stage from one shop event, applied once.

        Raises :class:`~services.profiles.domain.mall.UnknownCategory` before changing anything.
        """
        if event.event_id in self.applied_events:
            return []
        effects = interpret(event, taxonomy)
        if not self.uses_behaviour(consent_required):
            # Refused: remembered as applied (a later consent does not replay old behaviour), used for nothing.
            self.applied_events.append(event.event_id)
            del self.applied_events[:-_APPLIED_EVENTS_KEPT]
            return [Change(event.at, "mall_event", {"event_id": event.event_id, "used": False}, "mall")]
        changes: list[Change] = []
        for code, increment in effects.interests.items():
            key = (code, TagSource.MALL)
            existing = self.tags.get(key)
            updated = reinforce(existing, code, TagSource.MALL, increment, event.at, half_life)
            if updated is None:
                self.tags.pop(key, None)
            else:
                self.tags[key] = updated
        if effects.purchase is not None:
            changes += self.add_tag(taxonomy, effects.purchase, TagSource.MALL, event.at, actor="mall")
        if effects.spend_fen:
            month = event.at.strftime("%Y-%m")
            self.spend_by_month[month] = self.spend_by_month.get(month, 0) + effects.spend_fen
        if effects.inferred_birthday is not None:
            inferred = StageDeclaration(
                Basis.BIRTHDAY, event.at.date(), effects.inferred_birthday, Confidence.INFERRED, "mall"
            )
            changes += self.declare_stage(inferred, event.at, actor="mall")
        self.applied_events.append(event.event_id)
        del self.applied_events[:-_APPLIED_EVENTS_KEPT]
        detail: dict[str, object] = {"event_id": event.event_id, "kind": event.kind.value, "category": event.category}
        changes.append(Change(event.at, "mall_event", detail, "mall"))
        return changes
