"""Errors raised when a message does not honour its contract.

    EventContractError
    ├── MalformedEnvelope      bytes that are not a JSON envelope
    ├── UnknownEventType       a type/version the catalog does not know (nor can upcast)
    ├── InvalidEventPayload    a known type whose payload fails validation
    └── UnknownTopic           a topic name that is not in the registry

All of them are permanent: retrying cannot fix the message, so consumers dead-letter it at once.
"""


class EventContractError(Exception):
    """A message does not honour its contract."""


class MalformedEnvelope(EventContractError):
    pass


class UnknownEventType(EventContractError):
    pass


class InvalidEventPayload(EventContractError):
    pass


class UnknownTopic(EventContractError):
    pass
