"""Password and secret hashing with bcrypt, off the event loop."""

from __future__ import annotations

import asyncio
import hashlib

import bcrypt

# bcrypt only reads 72 bytes; longer secrets are pre-hashed so every byte counts.
_BCRYPT_MAX = 72


def _prepare(secret: str) -> bytes:
    raw = secret.encode()
    if len(raw) > _BCRYPT_MAX:
        raw = hashlib.sha256(raw).hexdigest().encode()
    return raw


def hash_sync(secret: str, rounds: int) -> str:
    """bcrypt hash of `secret` at cost `rounds`."""
    return bcrypt.hashpw(_prepare(secret), bcrypt.gensalt(rounds)).decode()


def verify_sync(secret: str, hashed: str | None) -> bool:
    """Whether `secret` matches the bcrypt `hashed`."""
    if not hashed:
        return False
    try:
        return bcrypt.checkpw(_prepare(secret), hashed.encode())
    except ValueError:
        return False


async def hash_password(secret: str, rounds: int) -> str:
    """Hash in a worker thread: bcrypt releases the GIL, so hashes run on every core."""
    return await asyncio.to_thread(hash_sync, secret, rounds)


async def verify_password(secret: str, hashed: str | None) -> bool:
    """Verify in a worker thread."""
    return await asyncio.to_thread(verify_sync, secret, hashed)
