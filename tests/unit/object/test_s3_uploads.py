"""Multipart completion rules: the S3 ETag of the whole and which part lists are refused."""

from __future__ import annotations

import hashlib

import pytest

from stackling.object import models as m
from stackling.object.service import uploads
from stackling.object.service.uploads import Listed


def _part(number: int, data: bytes, size: int | None = None) -> m.UploadPart:
    return m.UploadPart(
        upload_id="u",
        part_number=number,
        size=len(data) if size is None else size,
        etag=hashlib.md5(data).hexdigest(),
        file_id=f"f{number}",
        timestamp="0",
    )


def test_multipart_etag_is_md5_of_part_digests_and_count() -> None:
    md5s = [hashlib.md5(b"a").hexdigest(), hashlib.md5(b"b").hexdigest()]
    joined = hashlib.md5(b"a").digest() + hashlib.md5(b"b").digest()
    assert uploads.multipart_etag(md5s) == f"{hashlib.md5(joined).hexdigest()}-2"


def test_parts_are_chosen_in_listed_order_and_checked() -> None:
    big = uploads.MIN_PART_SIZE
    stored = {1: _part(1, b"one", big), 2: _part(2, b"two", big), 3: _part(3, b"three")}
    listed = [Listed(1, f'"{stored[1].etag}"'), Listed(3, stored[3].etag.upper())]
    assert [p.part_number for p in uploads._chosen(listed, stored)] == [1, 3]
    with pytest.raises(uploads.InvalidPart):
        uploads._chosen([Listed(1, stored[2].etag)], stored)
    with pytest.raises(uploads.InvalidPart):
        uploads._chosen([Listed(4, stored[1].etag)], stored)
    with pytest.raises(uploads.InvalidPartOrder):
        uploads._chosen([Listed(2, stored[2].etag), Listed(1, stored[1].etag)], stored)


def test_only_the_last_part_may_be_small() -> None:
    stored = {1: _part(1, b"small"), 2: _part(2, b"last")}
    with pytest.raises(uploads.EntityTooSmall):
        uploads._chosen([Listed(1, stored[1].etag), Listed(2, stored[2].etag)], stored)
    assert len(uploads._chosen([Listed(2, stored[2].etag)], stored)) == 1
