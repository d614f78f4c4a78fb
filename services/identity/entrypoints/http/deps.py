"""Typed dependencies of the identity API's routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from shared.identity import Directory, client_address, directory_of

__all__ = ["DirectoryDep"]


def _directory(request: Request) -> Directory:
    """The directory, recording this request's address and id in what it audits."""
    return directory_of(request).within(address=client_address(request), request_id=request.headers.get("X-Request-ID"))


DirectoryDep = Annotated[Directory, Depends(_directory)]
