"""Dead letters an operator can work: ``scrm deadletter list|show|replay|discard``.

Consumers park what they give up on in the ``platform.deadletter`` topic (see
:func:`shared.messaging.dispatch`). :class:`DeadLetterDesk` mirrors that topic into MongoDB's
``deadletters`` collection (keyed by the parked record's deterministic id, so mirroring twice adds
nothing), where each letter gets a status: ``open`` until it is replayed through its topic or
discarded, with who did it and when. Every action goes to the audit log.
"""

from shared.deadletters._desk import (
    REPLAY_WINDOW,
    AlreadyResolved,
    Auditor,
    BulkReport,
    DeadLetterDesk,
    DeadLetterError,
    DeadLetterNotFound,
    NotReplayable,
    SyncReport,
    replay_window,
)
from shared.deadletters._model import DeadLetter, DeadLetterQuery, DeadLetterStatus, reason_kind
from shared.deadletters._source import InMemoryParkedSource, KafkaParkedSource, ParkedRecord, ParkedSource
from shared.deadletters._stores import (
    DEADLETTER_INDEXES,
    DEADLETTER_MIRROR,
    DEADLETTERS,
    RESOLVED_RETENTION,
    AmbiguousId,
    DeadLetterStore,
    InMemoryDeadLetterStore,
    MongoDeadLetterStore,
    deadletter_indexes,
)

__all__ = [
    "DEADLETTERS",
    "DEADLETTER_INDEXES",
    "DEADLETTER_MIRROR",
    "REPLAY_WINDOW",
    "RESOLVED_RETENTION",
    "AlreadyResolved",
    "AmbiguousId",
    "Auditor",
    "BulkReport",
    "DeadLetter",
    "DeadLetterDesk",
    "DeadLetterError",
    "DeadLetterNotFound",
    "DeadLetterQuery",
    "DeadLetterStatus",
    "DeadLetterStore",
    "InMemoryDeadLetterStore",
    "InMemoryParkedSource",
    "KafkaParkedSource",
    "MongoDeadLetterStore",
    "NotReplayable",
    "ParkedRecord",
    "ParkedSource",
    "SyncReport",
    "deadletter_indexes",
    "reason_kind",
    "replay_window",
]
