"""Running a host command to completion, bounded in time, with its failure said in words."""

from __future__ import annotations

import asyncio
import contextlib
import shlex

# The end of a failing command's stderr that goes into the error (its last words matter).
STDERR_LIMIT = 2000


async def run(argv: list[str], *, timeout_s: float, error: type[Exception]) -> str:
    """Run `argv`; its stdout, or `error` naming the command and the end of its stderr."""
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
    except OSError as exc:
        raise error(f"cannot run {argv[0]}: {exc}") from exc
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout_s)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()
        raise error(f"{shlex.join(argv)} timed out after {timeout_s:g}s") from None
    if proc.returncode != 0:
        detail = err.decode(errors="replace").strip()[-STDERR_LIMIT:]
        raise error(f"{shlex.join(argv)} failed (exit {proc.returncode}): {detail}")
    return out.decode(errors="replace")
