"""A seeded scenario of webhook pushes and faults, and what the platform must hold after it.

The expected outcome (:class:`Expected`) is computed here from the scenario alone, by the rules the
docs state (docs/campaigns.md, docs/architecture.md), never by calling the platform's code: a bug in
the platform cannot hide in its own model of itself.

Rules the model applies:

- a member's ``follow_count`` is the number of follows pushed; ``following`` is whether the last of
  their follows and unfollows is a follow;
- a follow through an inviter's poster code by a member never seen following before credits the
  inviter once; a later follow through any code is refused: ``already_invited`` when that member was
  credited in the campaign before (revoked or not), ``not_a_new_follower`` otherwise; a following
  member scanning a code is refused (``existing_follower_scan``);
- an invitee who unfollows while their credit stands takes it back (the revocation window, 48 h, is
  longer than any run);
- a mall order is applied to the member's profile once: one ``mall_event`` in its history, its
  amount added to the member's spend;
- a targeted push to the members who declared a late pregnancy and consented to marketing on the H5
  page (and never unfollow) reaches each of them exactly once, and nobody else;
- each member answering the survey draws once (resending the answers draws nothing); the coupon's
  stock (half the answerers) is won exactly, each winner seeing it (page or message) and nobody
  getting two messages;
- an inviter whose credited invites reach the tier (3) gets its reward once. The generator never makes
  the outcome depend on the order in which different members' pushes are handled: an inviter either
  keeps at least the tier's count at the end or never reaches it at all.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Literal

KEYWORD = "任务宝"
TIER = 3
NOISE = ("你好", "在吗", "奶粉怎么选", "宝宝几个月可以吃辅食", "谢谢", "1")

Action = Literal["follow", "unfollow", "scan", "text", "mall", "h5", "survey"]
#: Mall categories an order may name (shared/maternal_infant/taxonomy.json).
CATEGORIES = ("formula_stage1", "diapers_newborn", "diapers_m", "stroller", "toys", "bath", "baby_food")
FaultKind = Literal[
    "mongodb_restart", "worker_sigterm", "worker_sigkill", "gateway_restart", "redelivery", "broker_restart"
]
WORKERS = ("members-worker", "campaigns-worker", "profiles-worker", "segments-worker")
#: A fault with this point happens while the targeted push is being sent, after the scenario's pushes.
DURING_SEND = -1


@dataclass(frozen=True)
class Step:
    openid: str
    action: Action
    #: The inviter whose poster code a follow or scan goes through (None: a plain follow).
    via: str | None = None
    content: str = ""
    #: The platform sends this push again after it was acknowledged (a retry: same MsgId/CreateTime);
    #: for a mall order, the mall sends the same event again.
    retried: bool = False
    #: A mall order (``action == "mall"``): the shop's event id, its category and amount in fen.
    mall_event: str = ""
    category: str = ""
    amount_fen: int = 0


@dataclass(frozen=True)
class Fault:
    #: Injected once this many pushes were acknowledged.
    after: int
    kind: FaultKind
    #: The process a worker or gateway fault hits.
    target: str = ""


@dataclass
class Expected:
    follow_count: dict[str, int] = field(default_factory=dict)
    following: dict[str, bool] = field(default_factory=dict)
    #: invitee → (inviter, "credited" | "revoked")
    invitations: dict[str, tuple[str, str]] = field(default_factory=dict)
    rejections: Counter[str] = field(default_factory=Counter)
    #: Inviters whose tier reward is due.
    rewarded: set[str] = field(default_factory=set)
    #: Members who declared a late pregnancy and consented to marketing on the H5 page, never leaving:
    #: the audience of the targeted push sent at the end, each to get it exactly once.
    audience: set[str] = field(default_factory=set)
    #: Members who answered the survey with a lottery (one draw each, whatever they resend).
    survey: set[str] = field(default_factory=set)
    #: Units of the survey's one prize (a coupon); the first answerers drawn win them.
    prize_stock: int = 0
    #: Mall orders per member, and what they spent (fen).
    mall_events: Counter[str] = field(default_factory=Counter)
    spend_fen: Counter[str] = field(default_factory=Counter)

    @property
    def credited(self) -> Counter[str]:
        return Counter(inviter for inviter, status in self.invitations.values() if status == "credited")


@dataclass(frozen=True)
class Scenario:
    seed: int
    #: Phase 1: inviters follow and ask for their poster (their codes exist before anyone scans them).
    setup: tuple[Step, ...]
    #: Phase 2: everything else, in the order pushed (each member's own steps in their order).
    steps: tuple[Step, ...]
    faults: tuple[Fault, ...]
    inviters: tuple[str, ...]

    @property
    def pushes(self) -> int:
        return len(self.setup) + len(self.steps)

    def expected(self) -> Expected:
        expected = model(self.setup + self.steps)
        expected.prize_stock = self.prize_stock
        return expected

    @property
    def prize_stock(self) -> int:
        """Fewer coupons than answerers: the stock runs out, and nobody may win two."""
        answerers = len({step.openid for step in self.steps if step.action == "survey"})
        return max(1, answerers // 2)


def model(steps: tuple[Step, ...] | list[Step]) -> Expected:
    """What the stores must say after ``steps`` were each applied exactly once (per member in order)."""
    out = Expected()
    seen: set[str] = set()  # members ever seen following
    for step in steps:
        member = step.openid
        if step.action == "follow":
            out.follow_count[member] = out.follow_count.get(member, 0) + 1
            out.following[member] = True
            if step.via is not None and step.via != member:
                if member in out.invitations:
                    out.rejections["already_invited"] += 1
                elif member in seen:
                    out.rejections["not_a_new_follower"] += 1
                else:
                    out.invitations[member] = (step.via, "credited")
            seen.add(member)
        elif step.action == "unfollow":
            out.following[member] = False
            invitation = out.invitations.get(member)
            if invitation is not None and invitation[1] == "credited":
                out.invitations[member] = (invitation[0], "revoked")
        elif step.action == "scan":
            out.rejections["existing_follower_scan"] += 1
        elif step.action == "h5":
            out.audience.add(member)
        elif step.action == "survey":
            out.survey.add(member)
        elif step.action == "mall":
            out.mall_events[member] += 1
            out.spend_fen[member] += step.amount_fen
    ever = Counter(inviter for inviter, _ in out.invitations.values())
    final = out.credited
    for inviter, count in ever.items():
        if count >= TIER:
            assert final[inviter] >= TIER, f"ambiguous reward for {inviter}: the generator must not do this"
            out.rewarded.add(inviter)
    return out


def generate(seed: int, pushes: int, *, broker_restarts: bool = True) -> Scenario:
    """About ``pushes`` pushes (at least 200) for a seed; the same seed gives the same scenario."""
    rng = random.Random(seed)
    pushes = max(pushes, 200)
    inviter_count = max(4, pushes // 400)
    inviters = tuple(f"o_inv_{i:03d}" for i in range(inviter_count))
    setup = tuple(
        step for inviter in inviters for step in (Step(inviter, "follow"), Step(inviter, "text", content=KEYWORD))
    )

    # Members beyond the inviters, each with a short script; about 3.3 pushes each.
    scripts: list[list[Step]] = []
    budget = pushes - len(setup)
    invitees: dict[str, str] = {}
    index = 0
    while budget > 0:
        openid = f"o_m_{index:05d}"
        index += 1
        invited = rng.random() < 0.35
        inviter = rng.choice(inviters) if invited else None
        if inviter is not None:
            invitees[openid] = inviter
        script = _script(rng, openid, inviter, inviters, index)
        scripts.append(script)
        budget -= len(script)
    _settle_rewards(scripts, invitees)
    # Inviters keep acting too (their poster code again, noise), and may be scanned by followers.
    for inviter in inviters:
        extra = [Step(inviter, "text", content=rng.choice((KEYWORD, *NOISE))) for _ in range(rng.randint(0, 2))]
        if extra:
            scripts.append(extra)

    steps = _interleave(rng, scripts)
    steps = [replace(s, retried=rng.random() < 0.06) for s in steps]
    total = len(setup) + len(steps)
    return Scenario(seed, setup, tuple(steps), _faults(rng, total, broker_restarts), inviters)


def _script(rng: random.Random, openid: str, inviter: str | None, inviters: tuple[str, ...], number: int) -> list[Step]:
    script = [Step(openid, "follow", via=inviter)]
    following = True
    if inviter is None and rng.random() < 0.12:
        # The push's audience: fills in the H5 page, may answer the survey, then only writes and shops.
        script.append(Step(openid, "h5"))
        if rng.random() < 0.7:
            script.append(Step(openid, "survey"))
        for position in range(rng.choice((0, 1, 2))):
            if rng.random() < 0.3:
                event = f"order-{number:05d}-{position}"
                fen = rng.randrange(990, 59_900, 10)
                script.append(Step(openid, "mall", mall_event=event, category=rng.choice(CATEGORIES), amount_fen=fen))
            else:
                script.append(Step(openid, "text", content=rng.choice(NOISE)))
        return script
    for position in range(rng.choice((0, 1, 1, 2, 2, 3, 4))):
        roll = rng.random()
        if following and roll < 0.15:
            fen = rng.randrange(990, 59_900, 10)
            event = f"order-{number:05d}-{position}"
            script.append(Step(openid, "mall", mall_event=event, category=rng.choice(CATEGORIES), amount_fen=fen))
        elif following and roll < 0.5:
            script.append(Step(openid, "text", content=rng.choice(NOISE)))
        elif following and roll < 0.6:
            script.append(Step(openid, "scan", via=rng.choice(inviters)))
        elif following:
            script.append(Step(openid, "unfollow"))
            following = False
        else:
            # Back again: through somebody's poster (refused as not new) or plainly.
            via = rng.choice(inviters) if roll < 0.5 else None
            script.append(Step(openid, "follow", via=via))
            following = True
    return script


def _settle_rewards(scripts: list[list[Step]], invitees: dict[str, str]) -> None:
    """Keep every inviter either at or above the tier at the end, or never at it: an invitee whose
    unfollow would take an inviter from the tier to below it stays instead (a text, not an unfollow)."""
    ever = Counter(invitees.values())
    unfollows: Counter[str] = Counter()
    for script in scripts:
        inviter = invitees.get(script[0].openid)
        if inviter is None or ever[inviter] < TIER:
            continue
        for position, step in enumerate(script):
            if step.action != "unfollow":
                continue
            if ever[inviter] - unfollows[inviter] - 1 >= TIER:
                unfollows[inviter] += 1
            else:
                script[position] = Step(step.openid, "text", content=NOISE[0])
                # What follows assumed the member had left: a re-follow is now a scan-free text.
                script[position + 1 :] = [
                    Step(s.openid, "text", content=NOISE[1]) if s.action in ("follow", "unfollow") else s
                    for s in script[position + 1 :]
                ]
            break  # only a member's first unfollow can revoke


def _interleave(rng: random.Random, scripts: list[list[Step]]) -> list[Step]:
    """One global order keeping each script's own order: draw the next step from a random script."""
    queues = [list(reversed(script)) for script in scripts if script]
    steps: list[Step] = []
    while queues:
        position = rng.randrange(len(queues))
        queue = queues[position]
        steps.append(queue.pop())
        if not queue:
            queues[position] = queues[-1]
            queues.pop()
    return steps


def _faults(rng: random.Random, total: int, broker_restarts: bool) -> tuple[Fault, ...]:
    """Every kind at least once, spread over the run; a long run gets one fault per ~600 pushes."""
    kinds: list[tuple[FaultKind, str]] = [
        ("worker_sigkill", "members-worker"),
        ("mongodb_restart", ""),
        ("worker_sigterm", "campaigns-worker"),
        ("redelivery", ""),
        ("gateway_restart", "gateway"),
        ("worker_sigkill", "campaigns-worker"),
        ("worker_sigterm", "members-worker"),
        ("worker_sigkill", "profiles-worker"),
        ("worker_sigterm", "profiles-worker"),
    ]
    during_send = (Fault(DURING_SEND, "worker_sigkill", "segments-worker"),)
    if broker_restarts:
        kinds.insert(3, ("broker_restart", ""))
    count = max(len(kinds), total // 600)
    plan = [kinds[i % len(kinds)] for i in range(count)]
    # Between 10% and 85% of the run, so each fault meets traffic before and after it.
    points = sorted(int(total * (0.1 + 0.75 * (i + rng.random() * 0.5) / count)) for i in range(count))
    return tuple(Fault(after, kind, target) for after, (kind, target) in zip(points, plan, strict=True)) + during_send
