"""What the simulated platform refuses, and how.

SimulatorError
├── ApiError            the platform's own answer: HTTP 200, JSON ``{errcode, errmsg}``
└── SimUsageError       a sim-only request that could not happen on the real platform
    ├── UnknownAccount  no such appid in WECHAT_ACCOUNTS
    ├── UnknownMember   no such openid in the account
    └── InvalidAction   the member cannot do that now (write without following, expired QR code...)
"""

from __future__ import annotations

#: errmsg texts as the platform words them (before the `` rid: …`` suffix it appends).
MESSAGES: dict[int, str] = {
    -1: "system error",
    40001: "invalid credential, access_token is invalid or not latest",
    40002: "invalid grant_type",
    40003: "invalid openid",
    40004: "invalid media type",
    40005: "invalid file type",
    40006: "invalid media size",
    40007: "invalid media_id",
    40008: "invalid message type",
    40009: "invalid image size",
    40010: "invalid voice size",
    40011: "invalid video size",
    40012: "invalid thumb size",
    40013: "invalid appid",
    40014: "invalid access_token",
    40032: "invalid openid list size",
    40037: "invalid template_id",
    40052: "invalid action name",
    40053: "invalid action info, please check document",
    40097: "invalid args",
    41001: "access_token missing",
    41002: "appid missing",
    41004: "appsecret missing",
    41005: "media data missing",
    42001: "access_token expired",
    43001: "require GET method",
    43002: "require POST method",
    43004: "require subscribe",
    43101: "user refuse to accept the msg",
    44001: "empty media data",
    44002: "empty post data",
    44004: "empty content",
    45002: "content size out of limit",
    45008: "article size out of limit",
    45009: "reach max api daily quota limit",
    45011: "api minute-quota reach limit  mustslower  retry next minute",
    45015: "response out of time limit or subscription is canceled",
    45047: "out of response count limit",
    45056: "too many tag now, no need to add new",
    45058: "can't modify sys tag",
    45059: "can not tagging one user too much",
    45157: "invalid tag name",
    45158: "tag name too long",
    45159: "invalid tag id",
    47001: "data format error",
    48001: "api unauthorized",
}


class SimulatorError(Exception):
    pass


class ApiError(SimulatorError):
    """A refusal the platform sends back as ``{errcode, errmsg}``."""

    def __init__(self, errcode: int, errmsg: str | None = None) -> None:
        self.errcode = errcode
        self.errmsg = errmsg or MESSAGES.get(errcode, "unknown error")
        super().__init__(f"{errcode}: {self.errmsg}")


class SimUsageError(SimulatorError):
    """A sim-only request that cannot happen; the message is safe to show the caller."""


class UnknownAccount(SimUsageError):
    pass


class UnknownMember(SimUsageError):
    pass


class InvalidAction(SimUsageError):
    pass
