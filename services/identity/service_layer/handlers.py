"""The identity API's own use cases beyond :class:`~shared.identity.Directory`: reading the audit log
within the accounts the reader may see."""

from __future__ import annotations

from dataclasses import replace

from shared.identity import ALL_ACCOUNTS, AuditEntry, AuditQuery, Directory, Forbidden, Identity, Permission
from shared.identity import accounts_with as _accounts_with

__all__ = ["read_audit"]


async def read_audit(directory: Directory, reader: Identity, query: AuditQuery) -> list[AuditEntry]:
    """Entries matching ``query``, limited to the accounts on which ``reader`` holds ``audit:view``.

    A reader with ``audit:view`` on every account also sees entries of no account (sign-ins,
    operator changes); others see their accounts' entries only.
    """
    accounts = _accounts_with(reader, Permission.AUDIT_VIEW)
    if not accounts:
        raise Forbidden("missing permission audit:view")
    if ALL_ACCOUNTS in accounts:
        return await directory.audit_entries(query)
    if query.appid is not None and query.appid not in accounts:
        raise Forbidden(f"missing permission audit:view on {query.appid}")
    return await directory.audit_entries(replace(query, appids=accounts))
