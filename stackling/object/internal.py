"""The object service's in-process API, for the services that keep their data in it.

Glance's object store driver and Cinder's object backup target keep their bytes
here, each in an account of its own ("stackling-image", "stackling-backup").
Such an account is named after no project, so no project's token reaches it
through Swift or S3 (a reseller admin can, as in Swift); only these callers use
it, without going through HTTP.

Internal writes skip Swift's size limit (max_file_size) and quotas: an image may
be larger than 5 GiB, and the calling service enforces its own limits (Glance's
image_size_cap and quotas, Cinder's backup quotas) while it streams. Everything
else is a Swift PUT: the bytes are durable before the row naming them is
committed, so an object changes all at once or not at all. Reads serve the
object's own bytes (internal objects are never large-object manifests).

A write must not overlap the object service's start-up, which deletes every
unpublished file no row names yet: callers write during their own start-up
only when it completes before the object service starts (services start one
after the other), and background writes need the object service started first.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable
from typing import Any

from stackling.common import errors
from stackling.object.drivers.base import NotInStore, StoreError
from stackling.object.service import accounts, containers, internal_ops, objects
from stackling.object.service.core import ObjectService
from stackling.object.service.listing import Query

_PAGE = 1000
_DELETE_BATCH = 500


class ObjectUnavailable(Exception):
    """The object service does not run in this process."""


class ObjectStorageError(Exception):
    """The object service could not store or return data; the message says why."""


class ObjectMissing(ObjectStorageError):
    """No such object (or no such container)."""


def internal_objects(runtime: Any) -> InternalObjects:
    """The object service of a running process, for another service's lazy lookup."""
    services = getattr(runtime, "services", None)
    if services is None:
        raise ObjectUnavailable("the object service is not reachable before start-up")
    plugin = services.get("object")
    if plugin is None:
        raise ObjectUnavailable("the object service is not enabled (add 'object' to services)")
    return InternalObjects(plugin.svc)


class InternalObjects:
    """Put, read, list and delete objects of any account, on behalf of another service."""

    def __init__(self, svc: ObjectService) -> None:
        self.svc = svc

    async def put(
        self,
        account: str,
        container: str,
        name: str,
        chunks: AsyncIterable[bytes],
        *,
        content_type: str = "application/octet-stream",
        meta: dict[str, str] | None = None,
        before_commit: Callable[[], Awaitable[None]] | None = None,
    ) -> tuple[int, str]:
        """Store the stream as the object, creating the container; (size, md5 hex).

        `before_commit` runs once the bytes are durable but not yet visible;
        raising there keeps nothing. So does any failure of the stream itself,
        whose exception comes through unchanged.
        """
        row = await internal_ops.ensure_container(self.svc, account, container)
        try:
            written = await self.svc.store.write(chunks)
        except StoreError as exc:
            raise ObjectStorageError(f"cannot store {container}/{name}: {exc}") from exc
        try:
            if before_commit is not None:
                await before_commit()
        except BaseException:
            await self.svc.store.discard([written.file_id])
            raise
        new = objects.NewObject(content_type=content_type, meta=dict(meta or {}))
        try:
            await objects.commit_file(
                self.svc, row, name, written.file_id, written.size, written.md5, new
            )
        except errors.NotFound as exc:
            raise ObjectStorageError(f"container {container} went away during the write") from exc
        return written.size, written.md5

    async def read(
        self, account: str, container: str, name: str, offset: int = 0, length: int | None = None
    ) -> AsyncIterator[bytes]:
        """Stream the object's bytes from offset for length (or to the end).

        ObjectMissing is raised on the first iteration when there is no such object.
        """
        row = await self._object(account, container, name)
        if row is None:
            raise ObjectMissing(f"no object {container}/{name}")
        try:
            async for chunk in self.svc.store.read(row.file_id, offset=offset, length=length):
                yield chunk
        except NotInStore as exc:
            # Deleted (and reclaimed) between the lookup and the read.
            raise ObjectMissing(f"no object {container}/{name}") from exc
        except StoreError as exc:
            raise ObjectStorageError(f"cannot read {container}/{name}: {exc}") from exc

    async def exists(self, account: str, container: str, name: str) -> bool:
        """Whether the object is there (and not expired)."""
        return await self._object(account, container, name) is not None

    async def delete(self, account: str, container: str, name: str) -> None:
        """Delete the object; a missing one (or container) is no error."""
        row = await containers.lookup(self.svc, account, container)
        if row is None:
            return
        with contextlib.suppress(errors.NotFound):
            await objects.delete_many(self.svc, row, [name])

    async def delete_prefix(self, account: str, container: str, prefix: str) -> int:
        """Delete every object whose name starts with `prefix`; how many went."""
        row = await containers.lookup(self.svc, account, container)
        if row is None:
            return 0
        gone = 0
        marker = ""
        while True:
            q = Query(limit=_DELETE_BATCH, prefix=prefix, marker=marker)
            names = [item.name for item in await internal_ops.list_objects(self.svc, row.id, q)]
            if not names:
                return gone
            try:
                result = await objects.delete_many(self.svc, row, names)
            except errors.NotFound:
                return gone
            gone += sum(1 for status in result.values() if status == 204)
            marker = names[-1]

    async def list_names(
        self, account: str, container: str, prefix: str = "", delimiter: str = ""
    ) -> list[str]:
        """Names in the container under `prefix`, in order; a missing container has none.

        With a delimiter, the names sharing a prefix up to it come as that prefix
        once (it ends with the delimiter), as in a Swift listing.
        """
        row = await containers.lookup(self.svc, account, container)
        if row is None:
            return []
        names: list[str] = []
        while True:
            marker = names[-1] if names else ""
            q = Query(limit=_PAGE, prefix=prefix, marker=marker, delimiter=delimiter)
            page = [item.name for item in await internal_ops.list_objects(self.svc, row.id, q)]
            full = len(page) == _PAGE
            # A page after a folded prefix starts by folding the rest of it again.
            if page and names and page[0] == names[-1]:
                page = page[1:]
            names.extend(page)
            if not full:
                return names

    async def list_containers(self, account: str) -> list[str]:
        """The account's container names, in order."""
        names: list[str] = []
        marker = ""
        while True:
            page = await accounts.list_containers(
                self.svc, account, Query(limit=_PAGE, marker=marker)
            )
            names.extend(item.name for item in page)
            if len(page) < _PAGE:
                return names
            marker = page[-1].name

    async def _object(self, account: str, container: str, name: str) -> Any:
        row = await containers.lookup(self.svc, account, container)
        if row is None:
            return None
        return await internal_ops.live_object(self.svc, row.id, name)
