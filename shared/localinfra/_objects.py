"""The object store the local Kafka-protocol broker keeps its data in (``moto``'s S3, dev and tests only).

Tansu's durable engines in the shipped binary: ``s3://`` only (postgres and sqlite are not compiled in).
moto keeps objects in its own memory, so the broker's topics, records and committed offsets survive a
broker restart (even ``kill -9``) for as long as this process runs; ``scrm infra down`` ends it.

``_objects_server`` runs it; this module holds what the broker and ``LocalInfrastructure`` need to use it.
"""

from __future__ import annotations

import http.client

#: The bucket the broker writes to (``--storage-engine s3://tansu/``).
BUCKET = "tansu"
#: moto accepts any credentials; Tansu (object_store) wants some to sign with.
BROKER_ENV = {
    "AWS_ACCESS_KEY_ID": "scrm-local",
    "AWS_SECRET_ACCESS_KEY": "scrm-local",  # dev-only placeholder: moto checks nothing
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_ALLOW_HTTP": "true",
    # moto answers If-Match/If-None-Match by ETag: the broker's compare-and-set of its metadata.
    "AWS_CONDITIONAL_PUT": "etag",
}


def broker_env(host: str, port: int) -> dict[str, str]:
    """The environment Tansu needs to use this object store."""
    return BROKER_ENV | {"AWS_ENDPOINT": f"http://{host}:{port}"}


def objects_answer(host: str, port: int, timeout: float = 1.0) -> bool:
    """Does an S3 endpoint answer on ``host:port`` and hold the broker's bucket?"""
    return _request(host, port, "HEAD", f"/{BUCKET}", timeout) == 200


def s3_answers(host: str, port: int, timeout: float = 1.0) -> bool:
    """Does something that speaks S3 answer (a bucket listing), bucket or not?"""
    connection = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        connection.request("GET", "/")
        response = connection.getresponse()
        body = response.read(4096)
    except (OSError, http.client.HTTPException):
        return False
    finally:
        connection.close()
    return response.status == 200 and b"ListAllMyBucketsResult" in body


def ensure_bucket(host: str, port: int, timeout: float = 5.0) -> bool:
    if objects_answer(host, port, timeout):
        return True
    # In us-east-1 creating a bucket one already owns answers 200 as well: idempotent.
    return _request(host, port, "PUT", f"/{BUCKET}", timeout) == 200


def _request(host: str, port: int, method: str, path: str, timeout: float) -> int | None:
    connection = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        connection.request(method, path)
        response = connection.getresponse()
        response.read()
    except (OSError, http.client.HTTPException):
        return None
    finally:
        connection.close()
    return response.status
