"""The identity API: sign-in, operators and grants, API tokens, sessions and the audit log."""

from services.identity.entrypoints.http.app import create_app

__all__ = ["create_app"]
