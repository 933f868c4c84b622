"""The instance id signature the metadata proxy sends."""

from __future__ import annotations

from stackling.compute.metadata.signing import sign_instance_id, signature_matches

SECRET = b"s3cret"
# `printf instance-1 | openssl dgst -sha256 -hmac s3cret`
KNOWN = "80610a3a6649a87c1b3e5df90c22509c6203183d8880bdeb7f5fb05d15ce2f6f"


def test_signature_is_hex_hmac_sha256() -> None:
    assert sign_instance_id(SECRET, "instance-1") == KNOWN


def test_signature_matches_only_its_instance_and_secret() -> None:
    assert signature_matches(SECRET, "instance-1", KNOWN)
    assert not signature_matches(SECRET, "instance-2", KNOWN)
    assert not signature_matches(b"other", "instance-1", KNOWN)
    assert not signature_matches(SECRET, "instance-1", KNOWN.upper())
    assert not signature_matches(SECRET, "instance-1", "")
    assert not signature_matches(SECRET, "instance-1", "é" * 64)
