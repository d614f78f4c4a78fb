"""What a participant's poster is made of, and how long the platform keeps its parts. Pure: no I/O.

The lifetimes are the platform's (temporary QR codes, temporary media); they live here rather than in
the poster flow because the adapters that create codes and the flow that sends posters both follow
them, and adapters do not depend on the service layer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from services.campaigns.domain.poster_layout import PosterLayout

__all__ = ["MEDIA_REUSE_FOR", "QR_LIFETIME", "QR_RENEW_BEFORE", "PosterSpec"]

#: Temporary QR codes live at most 30 days; renew a day early so a poster never carries a dead code.
QR_LIFETIME = timedelta(days=30)
QR_RENEW_BEFORE = timedelta(days=1)
#: Temporary media lives three days; upload again a little before that.
MEDIA_REUSE_FOR = timedelta(days=2, hours=20)


@dataclass(frozen=True)
class PosterSpec:
    template: bytes
    template_version: str
    layout: PosterLayout
    welcome: str
    texts: Mapping[str, str]
