"""What goes wrong with identities, as one tree.

    IdentityError
    ├── NotAuthenticated        no credentials, or ones that do not open anything (401)
    │   ├── LoginRefused        wrong name or password, or a disabled operator
    │   └── LoginThrottled      too many recent failures for the account or the address (429)
    ├── Forbidden               authenticated, but not allowed (403)
    │   └── CsrfRejected        a cookie-authenticated write without the session's CSRF token
    ├── OperatorNotFound        no operator by that id or name (404)
    ├── OperatorExists          the name is taken (409)
    ├── TokenNotFound           no such API token (404)
    └── InvalidIdentityInput    a role, permission, scope or password the rules refuse (422)

Messages never hold a secret: they are written for API users and logs.
"""

from __future__ import annotations

__all__ = [
    "CsrfRejected",
    "Forbidden",
    "IdentityError",
    "InvalidIdentityInput",
    "LoginRefused",
    "LoginThrottled",
    "NotAuthenticated",
    "OperatorExists",
    "OperatorNotFound",
    "TokenNotFound",
]


class IdentityError(Exception):
    pass


class NotAuthenticated(IdentityError):
    pass


class LoginRefused(NotAuthenticated):
    def __init__(self) -> None:
        # One message for a wrong name and a wrong password: which one was wrong is not told.
        super().__init__("wrong name or password")


class LoginThrottled(NotAuthenticated):
    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__("too many failed sign-ins; try again later")
        self.retry_after_seconds = retry_after_seconds


class Forbidden(IdentityError):
    pass


class CsrfRejected(Forbidden):
    def __init__(self) -> None:
        super().__init__("CSRF token missing or wrong (send the session's token in X-CSRF-Token)")


class OperatorNotFound(IdentityError):
    pass


class OperatorExists(IdentityError):
    pass


class TokenNotFound(IdentityError):
    pass


class InvalidIdentityInput(IdentityError):
    pass
