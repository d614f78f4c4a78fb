"""The console's sections, and which of them an operator sees on an account.

A section is shown only when the operator holds its permission there; the APIs refuse the same
operator anyway, so hiding is for clarity, never the check.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.console.domain.messages import N_
from services.console.domain.operators import SignedInOperator
from shared.identity import Permission

__all__ = [
    "ADMIN_SECTIONS",
    "BUSINESS_SECTIONS",
    "SECTIONS",
    "Section",
    "admin_sections",
    "business_sections",
    "sections",
]


@dataclass(frozen=True)
class Section:
    key: str
    #: English message id; the catalogs translate it.
    label: str
    #: Path under ``/accounts/{appid}`` (account sections) or from the root (administration).
    path: str
    permission: Permission
    #: A single keystroke after "g" that opens it (g c: campaigns...).
    hotkey: str = ""


SECTIONS: tuple[Section, ...] = (
    Section("overview", N_("Overview"), "", Permission.STATS_VIEW, "o"),
    Section("campaigns", N_("Campaigns"), "/campaigns", Permission.CAMPAIGN_VIEW, "c"),
    Section("referrals", N_("Referral graph"), "/referrals", Permission.CAMPAIGN_VIEW),
    Section("review", N_("Review queue"), "/review", Permission.REVIEW_DECIDE, "r"),
    Section("members", N_("Members"), "/members", Permission.MEMBER_VIEW, "m"),
    Section("coverage", N_("Tag coverage"), "/coverage", Permission.STATS_VIEW),
    Section("segments", N_("Segments"), "/segments", Permission.SEGMENT_VIEW, "s"),
    Section("pushes", N_("Pushes"), "/pushes", Permission.PUSH_VIEW, "p"),
)

#: Brands and the business view: not under one Official Account (brands are the company's clients, and
#: the roles that see them are granted on every account), so like administration they sit outside the
#: account's sections.
BUSINESS_SECTIONS: tuple[Section, ...] = (
    Section("business", N_("Business view"), "/business", Permission.BRAND_VIEW, "b"),
    Section("brands", N_("Brands"), "/brands", Permission.BRAND_VIEW),
)

ADMIN_SECTIONS: tuple[Section, ...] = (
    Section("operators", N_("Operators"), "/admin/operators", Permission.OPERATOR_MANAGE),
    Section("tokens", N_("API tokens"), "/admin/tokens", Permission.TOKEN_MANAGE),
    Section("sessions", N_("Sessions"), "/admin/sessions", Permission.OPERATOR_MANAGE),
    Section("audit", N_("Audit log"), "/admin/audit", Permission.AUDIT_VIEW),
)


def sections(operator: SignedInOperator, appid: str) -> list[Section]:
    return [s for s in SECTIONS if operator.may(s.permission, appid)]


def business_sections(operator: SignedInOperator) -> list[Section]:
    return [s for s in BUSINESS_SECTIONS if operator.may(s.permission, None)]


def admin_sections(operator: SignedInOperator) -> list[Section]:
    """Administration works across accounts: operator and token management need a ``*`` grant; the
    audit log answers for the accounts one may audit, so a grant on one account is enough to open it."""
    shown = []
    for section in ADMIN_SECTIONS:
        if section.permission is Permission.AUDIT_VIEW:
            if any(operator.may(section.permission, g.appid) for g in operator.grants):
                shown.append(section)
        elif operator.may(section.permission, None):
            shown.append(section)
    return shown
