"""The proxy's proof of who is asking: an HMAC of the instance id with a shared secret.

Neutron's metadata proxy sends X-Instance-ID and X-Instance-ID-Signature; only a
holder of the secret can name an instance, so a guest cannot ask as another.
"""

from __future__ import annotations

import hashlib
import hmac


def sign_instance_id(secret: bytes, instance_id: str) -> str:
    """The X-Instance-ID-Signature for `instance_id`: hex HMAC-SHA256."""
    return hmac.new(secret, instance_id.encode("utf-8"), hashlib.sha256).hexdigest()


def signature_matches(secret: bytes, instance_id: str, signature: str) -> bool:
    """Whether `signature` signs `instance_id` (compared in constant time)."""
    expected = sign_instance_id(secret, instance_id)
    return hmac.compare_digest(expected.encode("ascii"), signature.encode("utf-8"))
