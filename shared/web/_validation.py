"""422 for a request that fails validation, as FastAPI answers it, for any input.

Python's JSON parser reads ``NaN`` and ``Infinity``, and a refusal echoes the offending input; JSON has
no such numbers, so FastAPI's own handler failed to write its answer and the client got a 500. Here they
are echoed as text.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import AfterValidator, AwareDatetime

__all__ = ["AwareMoment", "UtcConvertible", "refuse_invalid_request"]


def _convertible_to_utc(moment: datetime | None) -> datetime | None:
    if moment is None or moment.tzinfo is None:  # a missing zone is the model's own rule to state
        return moment
    try:
        moment.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00+14:00 is a valid ISO time, but before year 1 in UTC
        raise ValueError("the time falls outside the years 1-9999 in UTC") from None
    return moment


#: For a request body's times: they are stored in UTC, and a time at the calendar's ends that cannot
#: be converted is a 422 naming the field rather than a 500 later. ``Annotated[datetime, UtcConvertible]``.
UtcConvertible = AfterValidator(_convertible_to_utc)
#: A time with its zone that can be converted to UTC.
AwareMoment = Annotated[AwareDatetime, UtcConvertible]


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # "nan", "inf", "-inf"
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value


async def refuse_invalid_request(request: Request, exc: Exception) -> JSONResponse:
    """FastAPI's 422 (``{"detail": [{"loc", "msg", "type", "input", ...}]}``), writable whatever the input."""
    assert isinstance(exc, RequestValidationError), "registered for RequestValidationError only"
    return JSONResponse({"detail": _finite(jsonable_encoder(exc.errors()))}, status_code=422)
