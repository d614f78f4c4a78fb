"""Operator identity: who is calling, what they may do on which Official Account, and what they did.

- The model (pure): :class:`Permission` (verbs on resources), :class:`Role` (bundles of them, see
  :data:`ROLE_PERMISSIONS`), :class:`Grant` (a role on one account, or ``"*"``), :class:`Identity` (the
  caller of a request) and :func:`authorize` (deny by default).
- Secrets: argon2id :class:`PasswordHasher`, API tokens ``scrm_<id>_<secret>`` (stored as SHA-256,
  compared in constant time), session secrets and CSRF tokens.
- Storage: the :class:`IdentityStore` and :class:`AuditLog` ports, in MongoDB
  (:class:`MongoIdentityStore`, :class:`MongoAuditLog`, :data:`IDENTITY_INDEXES`) and in memory.
- :class:`Directory`: sign-in, resolving sessions and tokens, managing operators, grants, tokens and
  sessions; every change audited.
- FastAPI: :class:`IdentityConfig` for ``shared.web.create_service_app``, :func:`resolve_identity`,
  :data:`Actor`, :func:`require` and :func:`audit`.
"""

from shared.identity._directory import CLI_ACTOR, Directory, IdentityPolicy, SignedIn
from shared.identity._exceptions import (
    CsrfRejected,
    Forbidden,
    IdentityError,
    InvalidIdentityInput,
    LoginRefused,
    LoginThrottled,
    NotAuthenticated,
    OperatorExists,
    OperatorNotFound,
    TokenNotFound,
)
from shared.identity._memory import InMemoryAuditLog, InMemoryIdentityStore
from shared.identity._model import (
    ALL_ACCOUNTS,
    ROLE_PERMISSIONS,
    Grant,
    Identity,
    IdentityKind,
    Permission,
    Role,
    accounts_with,
    authorize,
    parse_permissions,
)
from shared.identity._mongo import IDENTITY_INDEXES, MongoAuditLog, MongoIdentityStore
from shared.identity._ports import AuditLog, IdentityStore
from shared.identity._records import ApiToken, AuditEntry, AuditQuery, Operator, Session
from shared.identity._secrets import MIN_PASSWORD_LENGTH, TOKEN_PREFIX, PasswordHasher, parse_token
from shared.identity._web import (
    CSRF_HEADER,
    SESSION_COOKIE,
    Actor,
    IdentityConfig,
    audit,
    clear_session_cookie,
    client_address,
    directory_of,
    mongo_identity,
    require,
    resolve_identity,
    set_session_cookie,
)

__all__ = [
    "ALL_ACCOUNTS",
    "CLI_ACTOR",
    "CSRF_HEADER",
    "IDENTITY_INDEXES",
    "MIN_PASSWORD_LENGTH",
    "ROLE_PERMISSIONS",
    "SESSION_COOKIE",
    "TOKEN_PREFIX",
    "Actor",
    "ApiToken",
    "AuditEntry",
    "AuditLog",
    "AuditQuery",
    "CsrfRejected",
    "Directory",
    "Forbidden",
    "Grant",
    "Identity",
    "IdentityConfig",
    "IdentityError",
    "IdentityKind",
    "IdentityPolicy",
    "IdentityStore",
    "InMemoryAuditLog",
    "InMemoryIdentityStore",
    "InvalidIdentityInput",
    "LoginRefused",
    "LoginThrottled",
    "MongoAuditLog",
    "MongoIdentityStore",
    "NotAuthenticated",
    "Operator",
    "OperatorExists",
    "OperatorNotFound",
    "PasswordHasher",
    "Permission",
    "Role",
    "Session",
    "SignedIn",
    "TokenNotFound",
    "accounts_with",
    "audit",
    "authorize",
    "clear_session_cookie",
    "client_address",
    "directory_of",
    "mongo_identity",
    "parse_permissions",
    "parse_token",
    "require",
    "resolve_identity",
    "set_session_cookie",
]
