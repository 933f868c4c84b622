"""Running the data plane's tools (`ip`, `bridge`, `nft`, `dnsmasq`): bounded, stderr kept.

Every command has a timeout, and a failure carries the command line, its exit
status and the tail of its stderr, so that an agent's log says what the kernel
refused and why. Callers decide which failures mean "already absent".
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import shlex
from collections.abc import Sequence
from typing import Any

LOG = logging.getLogger(__name__)

QUICK_TIMEOUT_S = 30.0
STDERR_LIMIT = 2000


class LinuxNetError(Exception):
    """A data-plane operation failed; the message names what and why."""


class CommandError(LinuxNetError):
    """A command exited non-zero (or timed out: `returncode` is None)."""

    def __init__(self, argv: Sequence[str], returncode: int | None, stderr: str) -> None:
        self.argv = list(argv)
        self.returncode = returncode
        self.stderr = stderr
        how = "timed out" if returncode is None else f"failed (exit {returncode})"
        super().__init__(f"{shlex.join(self.argv)} {how}: {stderr}".rstrip(": "))

    def says(self, *fragments: str) -> bool:
        """Whether stderr contains any of `fragments` (case-insensitive)."""
        text = self.stderr.lower()
        return any(fragment.lower() in text for fragment in fragments)


def in_netns(netns: str | None, argv: Sequence[str]) -> list[str]:
    """`argv` run inside the named network namespace (as is, for the current one)."""
    if netns is None:
        return list(argv)
    return ["ip", "netns", "exec", netns, *argv]


async def run(
    argv: Sequence[str], *, stdin: bytes | None = None, timeout_s: float = QUICK_TIMEOUT_S
) -> str:
    """Run a command to completion; its stdout, or CommandError with its stderr."""
    LOG.debug("running %s", shlex.join(argv))
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
    except OSError as exc:
        raise CommandError(argv, 127, f"cannot run {argv[0]}: {exc}") from exc
    try:
        out, err = await asyncio.wait_for(proc.communicate(stdin), timeout_s)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()
        raise CommandError(argv, None, f"no answer after {timeout_s:g}s") from None
    if proc.returncode != 0:
        detail = err.decode(errors="replace").strip()[-STDERR_LIMIT:]
        raise CommandError(argv, proc.returncode, detail)
    return out.decode(errors="replace")


async def run_json(argv: Sequence[str], *, timeout_s: float = QUICK_TIMEOUT_S) -> Any:
    """Run a command that prints JSON (`ip -j`, `nft -j`); empty output reads as []."""
    out = await run(argv, timeout_s=timeout_s)
    if not out.strip():
        # `ip -j netns list` prints nothing at all when there is nothing to list.
        return []
    try:
        return json.loads(out)
    except json.JSONDecodeError as exc:
        raise LinuxNetError(f"{shlex.join(argv)} printed invalid JSON: {exc}") from exc


def ip_argv(netns: str | None, *args: str) -> list[str]:
    """An `ip` command line aimed at a namespace (`ip -n NS ...`) or the current one."""
    return ["ip", *(("-n", netns) if netns else ()), *args]


def bridge_argv(netns: str | None, *args: str) -> list[str]:
    """A `bridge` command line aimed at a namespace or the current one."""
    return ["bridge", *(("-n", netns) if netns else ()), *args]
