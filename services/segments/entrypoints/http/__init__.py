"""Segments and pushes API.

Segments: a JSON rule tree saved with versions; a size preview and a sample while editing (answered by
the live index in milliseconds); "why is this member in it"; a zh-CN and English summary of every
rule. Pushes: content per A/B variant, a segment frozen when the push comes due, quiet hours,
frequency caps; pause, resume, cancel; deliveries and stats. ``/r/{token}`` is the signed click redirect.

``schemas`` holds the bodies, ``deps`` the use cases routes are given, ``segments``, ``pushes`` (operator
routes) and ``clicks`` (public) the routers, ``app`` puts them together, as
two apps: ``create_app`` (operator, internal) and ``create_public_app`` (the click redirect, exposed).
"""

from services.segments.entrypoints.http.app import create_app, create_public_app

__all__ = ["create_app", "create_public_app"]
