"""Storage errors that cross the adapter boundary.

    StorageError
    ├── StorageUnavailable     the server does not answer; transient, worth retrying
    └── StorageConflict        another transaction holds the documents (a crashed worker's, until
                               the server times it out); transient, worth retrying

Driver exceptions are translated at the adapter boundary (``raise ... from exc``) so service code
never imports pymongo to catch them.
"""

from dataclasses import dataclass

from pymongo.errors import ConnectionFailure, PyMongoError, ServerSelectionTimeoutError

#: The driver's base exception, for code outside the adapters that must recognise an untranslated one
#: (the HTTP shell's last-resort handler) without importing pymongo.
DriverError = PyMongoError


class StorageError(Exception):
    pass


class StorageUnavailable(StorageError):
    pass


class StorageConflict(StorageError):
    pass


def is_transient(exc: BaseException) -> bool:
    """True when the database is unreachable or busy right now, rather than the write being wrong.

    Consumers wait these out instead of dead-lettering the message. A write conflict can last as long
    as the server's transaction lifetime when a crashed process left a transaction open.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, (StorageUnavailable, StorageConflict, ConnectionFailure)):
            return True
        if isinstance(current, PyMongoError) and current.has_error_label("TransientTransactionError"):
            return True
        current = current.__cause__
    return False


@dataclass(frozen=True)
class StorageFailure:
    """How to answer for a storage error: a machine-readable ``reason``, a ``detail`` for people and the
    seconds after which trying again makes sense."""

    reason: str
    detail: str
    retry_after: int
    #: Worth one more immediate try: a connection that was dropped, a race lost. Not when no server
    #: could be selected for the whole timeout: a second wait would only double the caller's.
    repeatable: bool = True


def storage_failure(exc: BaseException) -> StorageFailure | None:
    """What went wrong with the database for ``exc`` (or anything in its ``__cause__`` chain); None
    when ``exc`` is no storage trouble at all, or an untranslated driver error that retrying won't fix
    (a wrong query: a bug, left to be a 500).

    A conflict is a race another writer won (try again at once); anything else transient is the
    server not answering on this connection or at all.
    """
    if isinstance(exc, StorageConflict) or (
        isinstance(exc, PyMongoError)
        and not isinstance(exc, ConnectionFailure)
        and exc.has_error_label("TransientTransactionError")
    ):
        return StorageFailure("storage_conflict", "another change to the same records won a race; retry", 1)
    if is_transient(exc) or isinstance(exc, StorageError):
        detail = f"storage unavailable ({_what(exc)}), retry later"
        return StorageFailure(
            "storage_unavailable", detail, 5, repeatable=not _caused_by(exc, ServerSelectionTimeoutError)
        )
    return None


def _caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    current: BaseException | None = exc
    while current is not None:
        if isinstance(current, kind):
            return True
        current = current.__cause__
    return False


def _what(exc: BaseException) -> str:
    current: BaseException | None = exc
    while current is not None:
        if isinstance(current, PyMongoError):
            return f"MongoDB: {type(current).__name__}"
        current = current.__cause__
    return type(exc).__name__
