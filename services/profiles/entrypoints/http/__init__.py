"""The profiles API: the mall webhook (signed; one event or NDJSON in bulk), member profiles with their
life stage and tags as of now, the change history, ops tags (audited), surveys, and the H5 pages
members open through a signed link.

``app`` builds it, as two apps: ``create_app`` (operator, internal) and ``create_public_app`` (the
signed mall webhook and the H5 pages, exposed); ``schemas`` are its bodies, ``deps`` what routes ask
for, and one router per resource: ``mall`` and ``h5`` (public, signed), ``profiles`` and ``surveys`` (operator).
"""

from services.profiles.entrypoints.http.app import create_app, create_public_app

__all__ = ["create_app", "create_public_app"]
