"""The one way an HTTP service is put together.

:func:`create_service_app` gives every service the same shell: a lifespan that opens the service's
composition root and keeps it at ``app.state.service``, ``/healthz``, ``/readyz`` and ``/metrics``, a
body limit, one answer for accounts the service does not hold, one answer for storage outages (503
with a reason and Retry-After; a request that met a stale connection and wrote nothing is run once
more first), one answer for a failed WeChat API call (502/503 with a reason), one place where
operator routes are guarded, and ``/docs`` whose Swagger UI (and ReDoc) the app serves itself, so
they work offline. Routes read what they need through :func:`service_of` and
:func:`now`. CSV downloads are :func:`csv_response` and :func:`streaming_csv_response` (their cells
come from ``shared.tabular``), named through :func:`attachment`.
"""

from shared.web._accounts import KnownAccounts, unknown_account_detail
from shared.web._app import ErrorStatuses, ServiceCheck, create_service_app, now, service_of
from shared.web._csv import CSV_MEDIA_TYPE, attachment, csv_response, streaming_csv_response
from shared.web._validation import AwareMoment, UtcConvertible, refuse_invalid_request

__all__ = [
    "CSV_MEDIA_TYPE",
    "AwareMoment",
    "ErrorStatuses",
    "KnownAccounts",
    "ServiceCheck",
    "UtcConvertible",
    "attachment",
    "create_service_app",
    "csv_response",
    "now",
    "refuse_invalid_request",
    "service_of",
    "streaming_csv_response",
    "unknown_account_detail",
]
