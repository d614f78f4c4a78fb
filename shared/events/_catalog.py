from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from shared.events._envelope import Envelope, Message, _describe
from shared.events._exceptions import InvalidEventPayload, UnknownEventType

Payload = dict[str, Any]


@dataclass(frozen=True)
class Upcaster:
    """Turns the payload of ``message_type`` at ``from_version`` into ``from_version + 1``.

    Upcasters chain, so an envelope written at v1 reaches v3 through v1→v2 and v2→v3. They are pure
    functions of the old payload: default a new field, split one, rename one.
    """

    message_type: str
    from_version: int
    upcast: Callable[[Payload], Payload]


class EventCatalog:
    """Every message type the platform knows, at its current version, plus the upcasters to reach it."""

    def __init__(self, messages: Iterable[type[Message]], upcasters: Iterable[Upcaster] = ()) -> None:
        self._current: dict[str, type[Message]] = {}
        for message in messages:
            if message.message_type in self._current:
                raise ValueError(f"message type {message.message_type!r} is declared twice")
            self._current[message.message_type] = message
        self._upcasters: dict[tuple[str, int], Upcaster] = {}
        for upcaster in upcasters:
            key = (upcaster.message_type, upcaster.from_version)
            if upcaster.message_type not in self._current:
                raise ValueError(f"upcaster for unknown message type {upcaster.message_type!r}")
            if key in self._upcasters:
                raise ValueError(f"two upcasters for {key}")
            self._upcasters[key] = upcaster
        for message in self._current.values():
            for version in range(1, message.message_version):
                if (message.message_type, version) not in self._upcasters:
                    raise ValueError(
                        f"{message.__name__} is at v{message.message_version} but has no upcaster from v{version}"
                    )

    def __contains__(self, message_type: object) -> bool:
        return message_type in self._current

    def __iter__(self) -> Any:
        return iter(self._current.values())

    def message_class(self, message_type: str) -> type[Message]:
        try:
            return self._current[message_type]
        except KeyError:
            raise UnknownEventType(f"unknown message type {message_type!r}") from None

    def upcast(self, envelope: Envelope) -> Envelope:
        """The same envelope with its payload raised to the current version of its type."""
        current = self.message_class(envelope.type).message_version
        if envelope.version > current:
            raise UnknownEventType(
                f"{envelope.type} v{envelope.version} is newer than this code (v{current}); deploy it first"
            )
        payload = envelope.payload
        for version in range(envelope.version, current):
            payload = self._upcasters[(envelope.type, version)].upcast(dict(payload))
        if envelope.version == current:
            return envelope
        return envelope.model_copy(update={"version": current, "payload": payload})

    def decode(self, envelope: Envelope) -> Message:
        """The typed payload of ``envelope`` at the current version."""
        upcasted = self.upcast(envelope)
        cls = self._current[upcasted.type]
        try:
            return cls.model_validate(upcasted.payload)
        except ValidationError as exc:
            raise InvalidEventPayload(f"{envelope.type} v{envelope.version}: {_describe(exc)}") from None
