"""The brands operator API: ``create_app``."""

from services.brands.entrypoints.http.app import create_app

__all__ = ["create_app"]
