"""Test doubles, one module per port they stand in for.

Only doubles that are not implementations of their own live here (failing on cue, losing a race,
acknowledging everything). In-memory implementations live beside their ports
(``services/<service>/adapters/memory.py``, ``shared.messaging.InMemoryEventPublisher``,
``shared.storage.InMemoryUnitOfWork``) and pass the same contract suites as the MongoDB ones.
"""
