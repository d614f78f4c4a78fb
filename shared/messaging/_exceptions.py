"""Messaging errors.

    MessagingError
    ├── PublishFailed            Kafka did not acknowledge; the caller must not report success
    ├── TopicMismatch            an existing topic disagrees with its declaration (partitions)
    └── PermanentHandlerError    a handler says retrying cannot help: dead-letter at once

Contract violations (:mod:`shared.events` errors) are permanent too.
"""


class MessagingError(Exception):
    pass


class PublishFailed(MessagingError):
    pass


class TopicMismatch(MessagingError):
    pass


class PermanentHandlerError(MessagingError):
    """Raise from a handler when the message itself is at fault (not the infrastructure)."""
