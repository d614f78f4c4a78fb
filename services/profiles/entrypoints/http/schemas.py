"""The profiles API's request and response bodies, and how profiles and surveys are shown in them."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Any

from pydantic import BaseModel, Field

from services.profiles.domain.profile import Profile
from services.profiles.domain.surveys import (
    Prize,
    PrizeKind,
    Question,
    QuestionKind,
    Survey,
    SurveyOption,
    SurveyStatus,
)
from services.profiles.entrypoints.http.deps import TagCode
from services.profiles.service_layer.ports import ProfileCounts
from shared.maternal_infant import Basis, Taxonomy, TaxonomyTag, current_declaration

__all__ = [
    "Accepted",
    "ConsentOut",
    "FollowOut",
    "LinkOut",
    "OpsTagIn",
    "OptionIn",
    "PrizeIn",
    "ProfileOut",
    "ProfileStatsOut",
    "QuestionIn",
    "StageOut",
    "SurveyIn",
    "SurveyOut",
    "TagOut",
    "TaxonomyTagOut",
    "masked_history",
]

#: History entries whose details are personal data: what the member declared or consented to, and
#: what they bought (newborn diapers say as much as a due date).
_SENSITIVE_CHANGES = frozenset({"stage_declared", "stage_withdrawn", "consent", "mall_event"})


def masked_history(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The history without the details of sensitive entries (their kind, time and actor stay)."""
    return [
        entry | {"detail": {}, "masked": True} if entry.get("kind") in _SENSITIVE_CHANGES else entry
        for entry in history
    ]


class Accepted(BaseModel):
    accepted: int = Field(description="Events published for the profiles worker (repeats within a request once)")


class TagOut(BaseModel):
    code: str
    name: str
    source: str
    name_en: str = Field(default="", description="The English name (the code when the taxonomy has none)")
    weight: float = Field(description="As of now: behavioural (mall, inferred) weights fade with time")
    first_seen: datetime
    last_seen: datetime


class StageOut(BaseModel):
    code: str
    name: str
    name_en: str = Field(default="", description="The English name (the code when the taxonomy has none)")
    pregnancy_week: int | None
    age_months: int | None
    confidence: str = Field(description="declared (the member said so) or inferred (from purchases)")
    basis: str = Field(description="What the stage is computed from: due_date, birthday or preparing")
    on: date | None = Field(description="The due date or the baby's birthday (None: preparing)")
    declared_on: date = Field(description="When the member said so (or the purchase it was inferred from)")


class ConsentOut(BaseModel):
    given: bool
    at: datetime
    via: str


class FollowOut(BaseModel):
    following: bool
    first_followed_at: datetime | None
    last_followed_at: datetime | None
    last_unfollowed_at: datetime | None


class ProfileOut(BaseModel):
    appid: str
    openid: str
    unionid: str | None
    follow: FollowOut
    last_active_at: datetime | None = Field(description="The member's last follow, scan, message or menu click")
    stage: StageOut | None = Field(description="Computed as of today from the declaration that counts")
    tags: list[TagOut]
    consents: dict[str, ConsentOut]
    version: int
    masked: bool = Field(False, description="True: stage, consents and unionid left out (member:reveal_pii shows them)")

    def without_pii(self) -> ProfileOut:
        """The view for ``member:view``: no life stage, consents or unionid."""
        return self.model_copy(update={"unionid": None, "stage": None, "consents": {}, "masked": True})

    @classmethod
    def of(cls, profile: Profile, taxonomy: Taxonomy, moment: datetime, half_life: timedelta) -> ProfileOut:
        """The profile as of ``moment``: its stage today, its tags' weights faded to now."""
        stage = profile.stage(moment.date())
        counting = current_declaration(profile.declarations)
        tags = [
            TagOut(
                code=view.code,
                name=taxonomy.name(view.code) if view.code in taxonomy else view.code,
                name_en=taxonomy.tags[view.code].english if view.code in taxonomy else view.code,
                source=view.source.value,
                weight=view.weight,
                first_seen=view.first_seen,
                last_seen=view.last_seen,
            )
            for view in profile.tag_views(moment, half_life)
            if not view.code.startswith("stage.")  # the stage has its own field
        ]
        return cls(
            appid=profile.appid,
            openid=profile.openid,
            unionid=profile.unionid,
            follow=FollowOut(
                following=profile.follow.following,
                first_followed_at=profile.follow.first_followed_at,
                last_followed_at=profile.follow.last_followed_at,
                last_unfollowed_at=profile.follow.last_unfollowed_at,
            ),
            last_active_at=profile.last_active_at,
            stage=None
            if stage is None or counting is None
            else StageOut(
                code=stage.stage.value,
                name=taxonomy.name(stage.stage.value),
                name_en=taxonomy.tags[stage.stage.value].english,
                pregnancy_week=stage.pregnancy_week,
                age_months=stage.age_months,
                confidence=stage.confidence.value,
                basis=counting.basis.value,
                on=counting.on,
                declared_on=counting.declared_on,
            ),
            tags=tags,
            consents={
                kind.value: ConsentOut(given=c.given, at=c.at, via=c.via) for kind, c in profile.consents.items()
            },
            version=profile.version,
        )


class TaxonomyTagOut(BaseModel):
    code: str = Field(description="Stable dotted code: what rules, ops tags and syncs refer to")
    name: str = Field(description="The taxonomy's (zh-CN) name")
    parent: str | None
    ops: bool = Field(description="Ops may set it by hand (life stages come from a due date or birthday)")
    name_zh: str = Field(description="The same as name")
    name_en: str = Field(description="The English name (the code when the taxonomy file gives none)")
    family: str = Field(description="The code's first part: stage, interest, purchase, spend, campaign, ops")
    depth: int = Field(description="Levels below its family's root (interest 0, interest.feeding 1, ...)")

    @classmethod
    def of(cls, tag: TaxonomyTag) -> TaxonomyTagOut:
        return cls(
            code=tag.code,
            name=tag.name,
            parent=tag.parent,
            ops=tag.family != "stage",
            name_zh=tag.name,
            name_en=tag.english,
            family=tag.family,
            depth=tag.code.count("."),
        )


class ProfileStatsOut(BaseModel):
    profiles: int
    following: int = Field(description="Profiles of members who follow the account now")
    tagged: int = Field(description="Profiles with at least one tag or a life stage")
    by_stage: dict[str, int] = Field(description="Life stage as of today -> profiles")
    consented_marketing: int

    @classmethod
    def of(cls, counts: ProfileCounts) -> ProfileStatsOut:
        return cls(
            profiles=counts.profiles,
            following=counts.following,
            tagged=counts.tagged,
            by_stage={stage.value: n for stage, n in counts.by_stage.items()},
            consented_marketing=counts.consented_marketing,
        )


class OpsTagIn(BaseModel):
    code: TagCode
    weight: Annotated[float, Field(gt=0, le=10)] = 1.0
    # No actor: the acting operator is the caller's identity (an old client's "actor" is ignored).


class OptionIn(BaseModel):
    id: str
    label: Annotated[str, Field(min_length=1, max_length=60)]
    tags: list[str] = []


class QuestionIn(BaseModel):
    id: str
    kind: QuestionKind
    text: Annotated[str, Field(min_length=1, max_length=200)]
    options: Annotated[list[OptionIn], Field(max_length=20)] = []
    required: bool = True
    stage_basis: Basis | None = None

    def question(self) -> Question:
        options = tuple(SurveyOption(o.id, o.label, tuple(o.tags)) for o in self.options)
        return Question(self.id, self.kind, self.text, options, self.required, self.stage_basis)


class PrizeIn(BaseModel):
    id: str
    name: Annotated[str, Field(min_length=1, max_length=60)]
    kind: PrizeKind
    probability: float
    stock: int
    points: int = 0

    def prize(self) -> Prize:
        return Prize(self.id, self.name, self.kind, self.probability, self.stock, self.points)


class SurveyIn(BaseModel):
    title: str
    questions: Annotated[list[QuestionIn], Field(max_length=30)]
    prizes: Annotated[list[PrizeIn], Field(max_length=20)] = []


class SurveyOut(BaseModel):
    id: str
    appid: str
    title: str
    status: SurveyStatus
    questions: list[QuestionIn]
    prizes: list[PrizeIn]
    results: dict[str, Any] = Field(description="responses, draws by prize (none: no prize), stock remaining")

    @classmethod
    def of(cls, survey: Survey, results: dict[str, Any]) -> SurveyOut:
        return cls(
            id=survey.id,
            appid=survey.appid,
            title=survey.title,
            status=survey.status,
            questions=[
                QuestionIn(
                    id=q.id,
                    kind=q.kind,
                    text=q.text,
                    options=[OptionIn(id=o.id, label=o.label, tags=list(o.tags)) for o in q.options],
                    required=q.required,
                    stage_basis=q.stage_basis,
                )
                for q in survey.questions
            ],
            prizes=[
                PrizeIn(id=p.id, name=p.name, kind=p.kind, probability=p.probability, stock=p.stock, points=p.points)
                for p in survey.prizes
            ],
            results=results,
        )


class LinkOut(BaseModel):
    url: str
