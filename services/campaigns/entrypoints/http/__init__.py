"""The campaign management API: an app factory call (:mod:`.app`), request and response bodies
(:mod:`.schemas`), typed dependencies (:mod:`.deps`) and one router per resource. Routes parse the
request, call a use case of the service layer and map its result."""

from services.campaigns.entrypoints.http.app import create_app

__all__ = ["create_app"]
