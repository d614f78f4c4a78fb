"""Kafka for every service: one way to produce, one way to consume.

- :class:`KafkaEventPublisher` (aiokafka, ``acks=all``) is how HTTP services publish; it implements the
  :class:`EventPublisher` port (as does :class:`InMemoryEventPublisher`, for tests). It sends through
  :class:`CoalescingProducer`, which batches whatever arrives while a produce request is out
  (aiokafka's client underneath).
- :func:`create_worker_app` builds a faust app bound to the topic registry; services pass
  :class:`Subscription` handlers and never write a consumer loop. The runner decodes and upcasts each
  envelope, retries failures with backoff, and dead-letters what still fails, with the reason.
  :class:`Batching` hands a subscription's records over many at a time (one transaction for many).
- :class:`OutboxRelay` publishes what transactions emitted into their outbox
  (:meth:`shared.storage.MongoUnitOfWork.emit`) after they committed; a service's worker runs it.
- :func:`ensure_topics` creates every registered topic explicitly at start-up;
  :func:`connect_publisher` does that and opens a service's publisher.

Delivery is at least once: offsets are committed only after a handler returns, so handlers make
their effects idempotent (see :class:`shared.storage.MongoUnitOfWork`).
"""

from shared.messaging._admin import ensure_topics
from shared.messaging._coalescing import CoalescingProducer
from shared.messaging._connect import connect_publisher
from shared.messaging._dispatch import Delivery, Outcome, dispatch, dispatch_batch
from shared.messaging._exceptions import (
    MessagingError,
    PermanentHandlerError,
    PublishFailed,
    TopicMismatch,
)
from shared.messaging._memory import InMemoryEventPublisher
from shared.messaging._outbox import OutboxRelay
from shared.messaging._publisher import EventPublisher, KafkaEventPublisher
from shared.messaging._retry import RetryPolicy
from shared.messaging._worker import Batching, FaustPublisher, Subscription, WorkerApp, create_worker_app, run_worker

__all__ = [
    "Batching",
    "CoalescingProducer",
    "Delivery",
    "EventPublisher",
    "FaustPublisher",
    "InMemoryEventPublisher",
    "KafkaEventPublisher",
    "MessagingError",
    "OutboxRelay",
    "Outcome",
    "PermanentHandlerError",
    "PublishFailed",
    "RetryPolicy",
    "Subscription",
    "TopicMismatch",
    "WorkerApp",
    "connect_publisher",
    "create_worker_app",
    "dispatch",
    "dispatch_batch",
    "ensure_topics",
    "run_worker",
]
