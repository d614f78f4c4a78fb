"""Storage errors that cross the adapter boundary.

    StorageError
    └── StorageUnavailable     the server does not answer; transient, worth retrying

Driver exceptions are translated at the adapter boundary (``raise ... from exc``) so service code
never imports pymongo to catch them.
"""

from pymongo.errors import ConnectionFailure


class StorageError(Exception):
    pass


class StorageUnavailable(StorageError):
    pass


#: Errors that mean "the database is not reachable right now", not "this write is wrong". Consumers
#: wait these out instead of dead-lettering the message.
TRANSIENT_ERRORS: tuple[type[Exception], ...] = (StorageUnavailable, ConnectionFailure)
