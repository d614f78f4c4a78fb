from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import timedelta

from shared.events._envelope import Message
from shared.events._exceptions import UnknownTopic


@dataclass(frozen=True)
class Topic:
    """A Kafka topic as the platform declares it; created explicitly at start-up from this declaration.

    ``name`` is logical: the physical name is ``prefix + name`` so that tests (and tenants of a shared
    cluster) get their own topics. ``retention`` of ``None`` keeps messages forever.
    """

    name: str
    partitions: int
    retention: timedelta | None
    key: str
    messages: tuple[type[Message], ...]
    description: str

    def physical_name(self, prefix: str = "") -> str:
        return f"{prefix}{self.name}"

    @property
    def retention_ms(self) -> int:
        return -1 if self.retention is None else int(self.retention.total_seconds() * 1000)

    @functools.cached_property
    def message_types(self) -> frozenset[str]:
        return frozenset(m.message_type for m in self.messages)

    def carries(self, message_type: str) -> bool:
        return message_type in self.message_types


class TopicRegistry:
    """The single list of topics. Producers, consumers, topic creation and docs all read it."""

    def __init__(self, topics: Iterable[Topic]) -> None:
        self._topics: dict[str, Topic] = {}
        for topic in topics:
            if topic.name in self._topics:
                raise ValueError(f"topic {topic.name!r} is declared twice")
            if topic.partitions < 1:
                raise ValueError(f"topic {topic.name!r} needs at least one partition")
            self._topics[topic.name] = topic

    def __iter__(self) -> Iterator[Topic]:
        return iter(self._topics.values())

    def __len__(self) -> int:
        return len(self._topics)

    def get(self, name: str) -> Topic:
        try:
            return self._topics[name]
        except KeyError:
            raise UnknownTopic(f"no topic named {name!r} in the registry") from None

    def for_message(self, message_type: str) -> Topic:
        """The topic a message type is published to (each type lives on exactly one topic)."""
        homes = [t for t in self._topics.values() if t.carries(message_type)]
        if len(homes) != 1:
            raise UnknownTopic(f"{message_type!r} is carried by {len(homes)} topics, expected exactly one")
        return homes[0]
