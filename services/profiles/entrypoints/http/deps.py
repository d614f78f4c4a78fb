"""What routes ask for: the service object, the app's clock, and the shapes of path and query values."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Depends, Path, Query, Request
from pydantic import StringConstraints

from services.profiles.bootstrap import Profiles
from shared.web import now, service_of

__all__ = ["AppId", "Now", "OpenId", "ProfilesDep", "SurveyId", "TagCode", "Token"]

_ID = r"^[A-Za-z0-9_-]+$"


def _profiles(request: Request) -> Profiles:
    service: Profiles = service_of(request)
    return service


ProfilesDep = Annotated[Profiles, Depends(_profiles)]
#: The moment of the request, by the app's clock (tests set it).
Now = Annotated[datetime, Depends(now)]

AppId = Annotated[str, Path(min_length=1, max_length=64, pattern=_ID)]
OpenId = Annotated[str, Path(min_length=1, max_length=128, pattern=_ID)]
SurveyId = Annotated[str, Path(min_length=1, max_length=64, pattern=_ID)]
#: The signed link's token (``?t=``) that names the member on the H5 pages.
Token = Annotated[str, Query(min_length=10, max_length=600)]
TagCode = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$", max_length=100)]
