"""The analytics API (process ``analytics``): the dashboards, read from the rollups, as JSON or CSV.

``deps`` holds what routes are given (the dashboards, the day range), ``dashboards`` the router,
``app`` puts them together."""

from services.analytics.entrypoints.http.app import create_app

__all__ = ["create_app"]
