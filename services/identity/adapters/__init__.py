"""The identity stores' adapters are ``shared.identity``'s (MongoDB and in memory); re-exported here
for the bootstrap."""

from shared.identity import InMemoryAuditLog, InMemoryIdentityStore, MongoAuditLog, MongoIdentityStore

__all__ = ["InMemoryAuditLog", "InMemoryIdentityStore", "MongoAuditLog", "MongoIdentityStore"]
