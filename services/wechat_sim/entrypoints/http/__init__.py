"""The simulator over HTTP: the platform's ``/cgi-bin/`` API and the sim-only ``/sim/`` API."""

from services.wechat_sim.entrypoints.http.app import create_app

__all__ = ["create_app"]
