"""MongoDB access: one client per process, indexes declared beside repositories, idempotent writes.

- :func:`connect` is how a bootstrap opens its storage: the process's client, its database with its
  indexes in place, and a readiness check (:class:`Connection`); :func:`create_client` and
  :func:`close_client` are the two ends of it, for tools that want the client alone.
- :class:`IndexSpec` declares an index next to the repository that needs it; :func:`ensure_indexes`
  creates them idempotently at start-up.
- :class:`MongoUnitOfWork` wraps a transaction and records processed events in the same write as the
  effect, so a redelivered message changes nothing the second time; :class:`InMemoryUnitOfWork` is
  the same in memory, for services' in-memory adapters. Both ``emit`` events into the transaction's
  outbox, published after the commit by :class:`shared.messaging.OutboxRelay`.
- :class:`MongoCounters` keeps running counts (stats figures) in the transaction of the writes they
  count, spread over :data:`COUNTER_SHARDS` documents per scope, with an optimistic ``rebuild``.
- :data:`RETENTIONS` holds each collection's retention; :func:`connect` adds the TTL indexes of the
  collections a process declares (:func:`with_retention`).
- :func:`retry_transient` reruns a request's transaction that lost a race (a write conflict).
- :func:`watch_writes` tells whether a block's writes may have reached the database (outside a
  transaction, or a commit sent): ``shared.web`` runs a request again after a stale connection only
  when none did. :func:`repeatable_writes` marks writes that are harmless twice,
  :func:`note_outside_effect` what is no write but must not happen twice (a message sent).
  :func:`storage_failure` says how to answer for a storage error (reason, detail, Retry-After).
"""

from shared.storage._client import Connection, close_client, connect, create_client, ping
from shared.storage._counters import COUNTER_SHARDS, MongoCounters, counter_indexes, counter_shard
from shared.storage._exceptions import (
    DriverError,
    StorageConflict,
    StorageError,
    StorageFailure,
    StorageUnavailable,
    is_transient,
    storage_failure,
)
from shared.storage._indexes import IndexSpec, ensure_indexes
from shared.storage._memory import InMemoryUnitOfWork
from shared.storage._retention import (
    RETENTIONS,
    Enforcement,
    Retention,
    shortest_claim_retention,
    ttl_indexes,
    with_retention,
)
from shared.storage._retry import retry_transient
from shared.storage._unit_of_work import (
    OUTBOX,
    OUTBOX_INDEXES,
    PROCESSED_EVENTS,
    PROCESSED_EVENTS_INDEXES,
    MongoUnitOfWork,
)
from shared.storage._writes import WriteLog, current_writes, note_outside_effect, repeatable_writes, watch_writes

__all__ = [
    "COUNTER_SHARDS",
    "OUTBOX",
    "OUTBOX_INDEXES",
    "PROCESSED_EVENTS",
    "PROCESSED_EVENTS_INDEXES",
    "RETENTIONS",
    "Connection",
    "DriverError",
    "Enforcement",
    "InMemoryUnitOfWork",
    "IndexSpec",
    "MongoCounters",
    "MongoUnitOfWork",
    "Retention",
    "StorageConflict",
    "StorageError",
    "StorageFailure",
    "StorageUnavailable",
    "WriteLog",
    "close_client",
    "connect",
    "counter_indexes",
    "counter_shard",
    "create_client",
    "current_writes",
    "ensure_indexes",
    "is_transient",
    "note_outside_effect",
    "ping",
    "repeatable_writes",
    "retry_transient",
    "shortest_claim_retention",
    "storage_failure",
    "ttl_indexes",
    "watch_writes",
    "with_retention",
]
