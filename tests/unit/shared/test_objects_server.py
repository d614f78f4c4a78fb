"""The local broker's object store: the part of S3 Tansu's s3:// engine uses, kept in files."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from shared.localinfra._objects_server import ObjectStore, create_app

Client = TestClient[web.Request, web.Application]


@pytest.fixture
async def s3(tmp_path: Path) -> AsyncIterator[Client]:
    async with TestClient(TestServer(create_app(ObjectStore(tmp_path)))) as client:
        assert (await client.put("/tansu")).status == 200
        yield client


async def test_objects_are_files_that_outlive_the_server(s3: Client, tmp_path: Path) -> None:
    put = await s3.put("/tansu/clusters/c/meta.json", data=b'{"v": 1}')
    assert put.status == 200 and put.headers["ETag"].startswith('"')
    got = await s3.get("/tansu/clusters/c/meta.json")
    assert got.status == 200 and await got.read() == b'{"v": 1}' and got.headers["ETag"] == put.headers["ETag"]
    assert (tmp_path / "tansu" / "clusters" / "c" / "meta.json").read_bytes() == b'{"v": 1}'
    head = await s3.head("/tansu/clusters/c/meta.json")
    assert head.status == 200 and head.headers["ETag"] == put.headers["ETag"]
    assert (await s3.get("/tansu/clusters/c/nothing.json")).status == 404
    assert (await s3.get("/nobucket/x")).status == 404
    assert (await s3.get("/tansu/../etc/passwd")).status in {400, 404}
    assert (await s3.delete("/tansu/clusters/c/meta.json")).status == 204
    assert (await s3.get("/tansu/clusters/c/meta.json")).status == 404


async def test_conditional_puts_are_a_compare_and_set(s3: Client) -> None:
    first = await s3.put("/tansu/w.json", data=b"1", headers={"If-None-Match": "*"})
    assert first.status == 200
    assert (await s3.put("/tansu/w.json", data=b"2", headers={"If-None-Match": "*"})).status == 412
    etag = first.headers["ETag"]
    assert (await s3.put("/tansu/w.json", data=b"2", headers={"If-Match": '"stale"'})).status == 412
    second = await s3.put("/tansu/w.json", data=b"2", headers={"If-Match": etag})
    assert second.status == 200 and second.headers["ETag"] != etag
    assert (await s3.put("/tansu/gone.json", data=b"x", headers={"If-Match": etag})).status == 404


async def test_listing_by_prefix_in_key_order_with_pages(s3: Client) -> None:
    for n in (3, 1, 2):
        await s3.put(f"/tansu/t/p/0/records/{n:020}.batch", data=b"x" * n)
    await s3.put("/tansu/t/p/1/records/00000000000000000009.batch", data=b"y")
    listed = await s3.get("/tansu", params={"list-type": "2", "prefix": "t/p/0/records/"})
    body = await listed.text()
    keys = [part.split("</Key>")[0] for part in body.split("<Key>")[1:]]
    assert keys == [f"t/p/0/records/{n:020}.batch" for n in (1, 2, 3)]
    assert "<Size>3</Size>" in body and "<IsTruncated>false</IsTruncated>" in body
    page = await (await s3.get("/tansu", params={"list-type": "2", "prefix": "t/", "max-keys": "2"})).text()
    assert "<IsTruncated>true</IsTruncated>" in page and "<KeyCount>2</KeyCount>" in page
    token = page.split("<NextContinuationToken>")[1].split("<")[0]
    rest = await (await s3.get("/tansu", params={"list-type": "2", "prefix": "t/", "continuation-token": token})).text()
    assert rest.count("<Key>") == 2 and "<IsTruncated>false</IsTruncated>" in rest


async def test_ranges_and_the_bucket_listing(s3: Client) -> None:
    await s3.put("/tansu/r.bin", data=b"0123456789")
    part = await s3.get("/tansu/r.bin", headers={"Range": "bytes=2-5"})
    assert part.status == 206 and await part.read() == b"2345"
    assert part.headers["Content-Range"] == "bytes 2-5/10"
    buckets = await (await s3.get("/")).text()
    assert "ListAllMyBucketsResult" in buckets and "<Name>tansu</Name>" in buckets


async def test_a_deleted_topic_takes_its_objects_along(s3: Client, tmp_path: Path) -> None:
    for key in ("t/x/0.batch", "t/x/1.batch", "t/y/0.batch"):
        await s3.put(f"/tansu/{key}", data=b"x")
    request = (
        '<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
        "<Object><Key>t/x/0.batch</Key></Object><Object><Key>t/x/1.batch</Key></Object></Delete>"
    )
    answer = await s3.post("/tansu", params={"delete": ""}, data=request.encode())
    assert answer.status == 200 and (await answer.text()).count("<Deleted>") == 2
    assert not (tmp_path / "tansu" / "t" / "x" / "0.batch").exists()
    assert (tmp_path / "tansu" / "t" / "y" / "0.batch").exists()
