"""The gateway's :class:`~services.gateway.service_layer.ports.ReplyRules` port."""

from __future__ import annotations

from services.gateway.domain.replies import ReplyRule
from services.gateway.service_layer.ports import ReplyRules

__all__ = ["FakeRules"]


class FakeRules(ReplyRules):
    """The same ``rules`` for every account; ``broken`` rules raise as a store that is down would."""

    def __init__(self, rules: list[ReplyRule] | None = None, *, broken: bool = False) -> None:
        self.rules = rules or []
        self.broken = broken

    async def for_account(self, appid: str) -> list[ReplyRule]:
        if self.broken:
            raise ConnectionError("rules store down")
        return self.rules
