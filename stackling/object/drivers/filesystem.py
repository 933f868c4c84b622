"""A filesystem object store: one file per file id, published by rename.

Layout under the root directory:

- `.partial/<file_id>`: written (or being written) but not published yet.
- `data/<file_id[:2]>/<file_id>`: published. The 256 subdirectories are made
  once at construction, so publishing is a bare rename.

File ids are 32 lowercase hex characters and are the only names this store
ever creates; any other id given to a method is refused with NotInStore, so no
caller-supplied string ever becomes part of a path.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import hashlib
import os
import re
import secrets
import shutil
import threading
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import TypeVar

from stackling.object.drivers.base import NotInStore, StoreError, TooLarge, Written

T = TypeVar("T")

# Data is handed to a worker thread in slices of this size: large enough that
# the thread hop is noise, small enough that memory stays flat whatever the object.
_SLICE_BYTES = 1 << 20
_READ_BYTES = 1 << 20
_COPY_BYTES = 8 << 20
# Received data kept while the previous slice is still being written (bounds memory).
_MAX_PENDING_BYTES = 8 << 20
# md5 of a slice beside its write; these tasks never wait on anything, so a
# writer waiting on one cannot deadlock.
_HASHERS = ThreadPoolExecutor(max_workers=4, thread_name_prefix="object-md5")
_PARALLEL_HASH = 256 << 10
_WRITEBACK_BYTES = 32 << 20
_WRITERS = ThreadPoolExecutor(max_workers=8, thread_name_prefix="object-write")
_FILE_ID = re.compile(r"[0-9a-f]{32}")
_SUBDIRS = tuple(f"{i:02x}" for i in range(256))
# copy_file_range cannot serve these (old kernel, other filesystem, unsupported
# file types): plain reads and writes do the same job.
_NO_COPY_RANGE = {errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP}


def new_file_id() -> str:
    """A fresh random file id."""
    return secrets.token_hex(16)


def check_file_id(file_id: str) -> str:
    """Return `file_id` if it is one this store could have made, else raise NotInStore."""
    if not isinstance(file_id, str) or _FILE_ID.fullmatch(file_id) is None:
        raise NotInStore(f"no such file id: {file_id!r}")
    return file_id


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class DirSync:
    """fsync of one directory, shared by every caller waiting at the same time.

    A caller needs a sync that *starts* after its entry was made; one sync
    started while N callers wait serves all N, so concurrent PUTs pay for
    about two directory fsyncs between them instead of one each. Runs on
    worker threads.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._cond = threading.Condition()
        self._started = 0  # generation of the newest sync that has started
        self._done = 0  # generation of the newest sync that has finished well
        self._running = False

    def sync(self) -> None:
        """Return once a sync that began after this call has completed."""
        with self._cond:
            need = self._started + 1
            while self._done < need:
                if self._running:
                    self._cond.wait()
                    continue
                self._running = True
                self._started += 1
                generation = self._started
                self._cond.release()
                try:
                    _fsync_dir(self.path)
                finally:
                    self._cond.acquire()
                    self._running = False
                    self._cond.notify_all()
                # Reached only when the fsync succeeded (an error propagates).
                self._done = max(self._done, generation)


def _store_error(exc: OSError) -> StoreError:
    return StoreError(f"object store I/O failed: {exc}")


async def _hop(fn: Callable[..., T], *args: object) -> T:
    """Run `fn` on a thread; disk errors become StoreError."""
    try:
        return await asyncio.to_thread(fn, *args)
    except OSError as exc:
        raise _store_error(exc) from exc


async def _hop_or_undo(fn: Callable[[], T], undo: Callable[[T], None]) -> T:
    """Run `fn` on a thread; if the caller is cancelled meanwhile, undo its result.

    The thread cannot be stopped, so a cancelled caller would otherwise leave
    behind whatever the thread goes on to create.
    """
    loop = asyncio.get_running_loop()
    future = loop.run_in_executor(None, fn)
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:

        def _undo_when_done(done: asyncio.Future[T]) -> None:
            if not done.cancelled() and done.exception() is None:
                loop.run_in_executor(None, undo, done.result())

        future.add_done_callback(_undo_when_done)
        raise
    except OSError as exc:
        raise _store_error(exc) from exc


class _PartialFile:
    """A write in progress; its methods run on worker threads, one at a time."""

    def __init__(self, path: Path, dir_sync: DirSync) -> None:
        self.path = path
        self.dir_sync = dir_sync
        self.md5 = hashlib.md5(usedforsecurity=False)
        self.fd: int | None = None
        self.written = 0
        self.flushed = 0

    def _open(self) -> int:
        # Opened on the first slice rather than up front: a small object then
        # costs a single thread hop (open, write, fsync, close) in seal().
        if self.fd is None:
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
            self.fd = os.open(self.path, flags, 0o600)
        return self.fd

    def append(self, data: bytes) -> None:
        fd = self._open()
        # md5 runs at about the speed the page cache takes writes, so the two go
        # on different threads (both release the GIL): a big object is then
        # bound by the slower of the two, not their sum. Slices come one at a
        # time, so md5 still sees them in order.
        hashing = _HASHERS.submit(self.md5.update, data) if len(data) >= _PARALLEL_HASH else None
        if hashing is None:
            self.md5.update(data)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        finally:
            if hashing is not None:
                hashing.result()
        self.written += len(data)
        if self.written - self.flushed >= _WRITEBACK_BYTES:
            # Start writing back what is dirty now, so that the fsync at the end
            # of a big object waits for its last stretch only, not for all of it.
            os.posix_fadvise(fd, self.flushed, self.written - self.flushed, os.POSIX_FADV_DONTNEED)
            self.flushed = self.written

    def seal(self, data: bytes) -> None:
        """Write the last bytes, then make file and directory entry durable."""
        self.append(data)
        assert self.fd is not None
        fd, self.fd = self.fd, None
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        self.dir_sync.sync()

    def abort(self, job: Future[None] | None) -> None:
        """Remove the file, once the slice being written (if any) is done."""
        if job is not None:
            wait([job])
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
        self.path.unlink(missing_ok=True)


class FilesystemStore:
    """Object data as files under one directory."""

    name = "file"

    def __init__(self, root: Path) -> None:
        self.root = root
        self.partial_dir = root / ".partial"
        self.data_dir = root / "data"
        # parents=True would make the root with default permissions, not 0o700.
        root.parent.mkdir(parents=True, exist_ok=True)
        for directory in (root, self.partial_dir, self.data_dir):
            directory.mkdir(exist_ok=True, mode=0o700)
        for sub in _SUBDIRS:
            (self.data_dir / sub).mkdir(exist_ok=True, mode=0o700)
        self.partial_sync = DirSync(self.partial_dir)

    def _partial_path(self, file_id: str) -> Path:
        return self.partial_dir / check_file_id(file_id)

    def _data_path(self, file_id: str) -> Path:
        return self.data_dir / check_file_id(file_id)[:2] / file_id

    def _candidates(self, file_id: str) -> tuple[Path, Path, Path]:
        # Published first, then unpublished, then published again: a publish
        # that renames the file between the first two looks finds it there.
        data = self._data_path(file_id)
        return (data, self._partial_path(file_id), data)

    def _locate(self, file_id: str, action: Callable[[Path], T]) -> T:
        """Apply `action` to the file's current path (runs on a thread)."""
        for path in self._candidates(file_id):
            try:
                return action(path)
            except FileNotFoundError:
                continue
        raise NotInStore(f"no data for file id {file_id}")

    def _open_read(self, file_id: str) -> int:
        return self._locate(file_id, lambda p: os.open(p, os.O_RDONLY | os.O_CLOEXEC))

    async def write(self, chunks: AsyncIterable[bytes], *, max_size: int | None = None) -> Written:
        """Stream to `.partial/<id>`, hashing on a worker thread, then fsync file and dir."""
        file_id = new_file_id()
        partial = _PartialFile(self._partial_path(file_id), self.partial_sync)
        # One slice is written and hashed on a worker thread while the next one
        # is received: the two overlap instead of taking turns.
        job: Future[None] | None = None
        size = 0
        try:
            pending: list[bytes] = []
            pending_size = 0
            async for chunk in chunks:
                if not chunk:
                    continue
                size += len(chunk)
                if max_size is not None and size > max_size:
                    raise TooLarge(f"object data is larger than {max_size} bytes")
                pending.append(chunk)
                pending_size += len(chunk)
                if pending_size >= _SLICE_BYTES and (
                    job is None or job.done() or pending_size >= _MAX_PENDING_BYTES
                ):
                    # Wait for the slice in flight only when too much has piled up:
                    # while we wait, nobody reads the request, and the server stops
                    # reading the socket after 64 KiB, so receiving would stall.
                    if job is not None:
                        await self._finished(job)
                    job = _WRITERS.submit(partial.append, b"".join(pending))
                    pending, pending_size = [], 0
            if job is not None:
                await self._finished(job)
            # Sealing is a job too, so that abort() waits for it if we are
            # cancelled while it runs.
            job = _WRITERS.submit(partial.seal, b"".join(pending))
            await self._finished(job)
        except BaseException:
            # Submitted at once and shielded: a second cancellation while we
            # wait cannot stop the partial file from being removed. A failure
            # to remove it must not hide the error that got us here; start-up
            # removes what is left.
            loop = asyncio.get_running_loop()
            with contextlib.suppress(OSError):
                await asyncio.shield(loop.run_in_executor(None, partial.abort, job))
            raise
        return Written(file_id=file_id, size=size, md5=partial.md5.hexdigest())

    @staticmethod
    async def _finished(job: Future[None]) -> None:
        try:
            await asyncio.wrap_future(job)
        except OSError as exc:
            raise _store_error(exc) from exc

    async def concat(self, file_ids: Sequence[str]) -> Written:
        """Copy the sources into a new partial file (copy_file_range), hash it, fsync it."""
        sources = [check_file_id(f) for f in file_ids]
        target = self._partial_path(new_file_id())

        def _concat() -> Written:
            fd = os.open(target, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
            try:
                size = 0
                for source in sources:
                    src = self._open_read(source)
                    try:
                        size += _copy_all(src, fd, size)
                    finally:
                        os.close(src)
                md5 = _md5_of(fd, size)
                os.fsync(fd)
            except BaseException:
                target.unlink(missing_ok=True)
                raise
            finally:
                os.close(fd)
            self.partial_sync.sync()
            return Written(file_id=target.name, size=size, md5=md5)

        return await _hop_or_undo(_concat, lambda w: self._remove(w.file_id))

    async def link(self, file_id: str) -> str:
        """A hard link of the file under a new partial id; fsync the `.partial` directory."""
        target = self._partial_path(new_file_id())
        check_file_id(file_id)

        def _link() -> str:
            self._locate(file_id, lambda p: os.link(p, target))
            self.partial_sync.sync()
            return target.name

        return await _hop_or_undo(_link, self._remove)

    async def publish(self, file_ids: Iterable[str]) -> None:
        """Rename each `.partial/<id>` to `data/xx/<id>`; already published is fine."""
        moves = [(self._partial_path(f), self._data_path(f)) for f in file_ids]

        def _publish() -> None:
            # No directory fsync: a rename lost in a crash leaves the file in
            # .partial, and start-up publishes it again.
            for source, dest in moves:
                with contextlib.suppress(FileNotFoundError):
                    os.rename(source, dest)

        await _hop(_publish)

    async def discard(self, file_ids: Iterable[str]) -> None:
        """Unlink each file, published or not; already gone is fine."""
        ids = [check_file_id(f) for f in file_ids]

        def _discard() -> None:
            for file_id in ids:
                self._remove(file_id)

        await _hop(_discard)

    def _remove(self, file_id: str) -> None:
        self._data_path(file_id).unlink(missing_ok=True)
        self._partial_path(file_id).unlink(missing_ok=True)

    async def size(self, file_id: str) -> int:
        """The size of the file, published or not."""
        check_file_id(file_id)
        return await _hop(lambda: self._locate(file_id, lambda p: p.stat().st_size))

    async def read(
        self, file_id: str, *, offset: int = 0, length: int | None = None
    ) -> AsyncIterator[bytes]:
        """Yield the range in 1 MiB pieces; a range of at most 1 MiB takes one thread hop."""
        check_file_id(file_id)
        if offset < 0 or (length is not None and length < 0):
            raise ValueError("offset and length must not be negative")
        fd, end, first = await _hop(self._start_read, file_id, offset, length)
        if first:
            yield first
        if fd is None:
            return
        try:
            pos = offset + len(first)
            while pos < end:
                data = await _hop(os.pread, fd, min(_READ_BYTES, end - pos), pos)
                if not data:
                    break
                pos += len(data)
                yield data
        finally:
            # Closing a file opened for reading does no I/O: no thread hop needed,
            # and none is wanted in a generator that may be closed by the GC.
            os.close(fd)

    def _start_read(
        self, file_id: str, offset: int, length: int | None
    ) -> tuple[int | None, int, bytes]:
        """Open, find the end of the range and read its first piece.

        Returns the still-open descriptor only when more than that piece is left.
        """
        fd = self._open_read(file_id)
        try:
            size = os.fstat(fd).st_size
            end = size if length is None else min(size, offset + length)
            first = os.pread(fd, min(_READ_BYTES, end - offset), offset) if end > offset else b""
            if offset + len(first) >= end:
                os.close(fd)
                return None, end, first
        except BaseException:
            os.close(fd)
            raise
        return fd, end, first

    async def unpublished(self) -> list[str]:
        """File ids in `.partial`; names that are not file ids are deleted.

        write, concat and link only ever create names that are file ids, so any
        other name was left by something else (an interrupted tool, an older
        layout): nothing can reference it, and start-up is when it goes.
        """

        def _list() -> list[str]:
            ids = []
            for entry in os.scandir(self.partial_dir):
                if _FILE_ID.fullmatch(entry.name):
                    ids.append(entry.name)
                elif entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path, ignore_errors=True)
                else:
                    Path(entry.path).unlink(missing_ok=True)
            return ids

        return await _hop(_list)

    async def published(self) -> AsyncIterator[str]:
        """Every published file id, one subdirectory (one thread hop) at a time."""
        for sub in _SUBDIRS:
            names = await _hop(os.listdir, self.data_dir / sub)
            for name in names:
                if _FILE_ID.fullmatch(name) and name.startswith(sub):
                    yield name


def _copy_all(src: int, dst: int, dst_offset: int) -> int:
    """Append all of `src` to `dst` at `dst_offset`; return the bytes copied."""
    size = os.fstat(src).st_size
    copied = 0
    in_kernel = True
    while copied < size:
        want = min(_COPY_BYTES, size - copied)
        done = 0
        if in_kernel:
            try:
                done = os.copy_file_range(src, dst, want, copied, dst_offset + copied)
            except OSError as exc:
                if exc.errno not in _NO_COPY_RANGE:
                    raise
                in_kernel = False
        if not in_kernel:
            data = os.pread(src, want, copied)
            view = memoryview(data)
            pos = dst_offset + copied
            while view:
                written = os.pwrite(dst, view, pos)
                view, pos = view[written:], pos + written
            done = len(data)
        if done == 0:
            raise StoreError("source file ended early while concatenating")
        copied += done
    return copied


def _md5_of(fd: int, size: int) -> str:
    """md5 of the first `size` bytes of `fd`, read back in 1 MiB slices."""
    md5 = hashlib.md5(usedforsecurity=False)
    pos = 0
    while pos < size:
        data = os.pread(fd, min(_READ_BYTES, size - pos), pos)
        if not data:
            raise StoreError("file ended early while hashing")
        md5.update(data)
        pos += len(data)
    return md5.hexdigest()
