"""The platform's own shared library.

Each package is named for what it does and exports its public names through ``__all__``:

- ``shared.settings``: the settings base every service subclasses (validated once at start-up).
- ``shared.events``: the versioned event envelope, the event catalog with upcasters, topic declarations.
- ``shared.contracts``: *this platform's* topics and event types: the single registry.
- ``shared.messaging``: one way to produce (aiokafka) and one way to consume (faust), with retries
  and a dead-letter topic.
- ``shared.storage``: MongoDB client lifecycle, declared indexes, the idempotent unit of work.
- ``shared.observability``: structured logs, Prometheus metrics, health and readiness endpoints.
- ``shared.localinfra``: the local Kafka- and MongoDB-protocol servers used in development and tests.
"""
