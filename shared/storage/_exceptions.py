"""Storage errors that cross the adapter boundary.

    StorageError
    ├── StorageUnavailable     the server does not answer; transient, worth retrying
    └── StorageConflict        another transaction holds the documents (a crashed worker's, until
                               the server times it out); transient, worth retrying

Driver exceptions are translated at the adapter boundary (``raise ... from exc``) so service code
never imports pymongo to catch them.
"""

from pymongo.errors import ConnectionFailure, PyMongoError


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
