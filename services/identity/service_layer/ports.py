"""The identity service's ports. They are declared in ``shared.identity``, because every service
resolves its callers through the same stores; this module names them for the service's use cases."""

from __future__ import annotations

from shared.identity import AuditLog, IdentityStore

__all__ = ["AuditLog", "IdentityStore"]
