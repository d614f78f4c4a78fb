"""The console's web app."""

from services.console.entrypoints.http.app import create_app

__all__ = ["create_app"]
