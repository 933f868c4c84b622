"""nftables: rulesets rendered as text and applied whole, in one transaction.

A table is replaced by one `nft -f -` script that declares it (a no-op when it
exists), deletes it and defines it again. nft commits the lot as one
transaction: a packet sees the old table or the new one, never a gap or a half,
and a failure leaves the old one in place. Connection-tracking entries are not
part of a table, so established connections outlive the swap. A table that is
already exactly what would be written is left alone (`apply_tables`, by a
digest the table carries), so applying the same state twice changes nothing,
not even its counters.

The renderers (`nat`, `secgroups`, `guard`) build on the quoting helpers here:
every name and address that reaches a ruleset is validated first, so no value
can close a string or a block and add rules of its own.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from collections.abc import Iterable
from typing import Any

from stackling.network.linux.cmd import CommandError, in_netns, run, run_json

APPLY_TIMEOUT_S = 60.0
DIGEST_PREFIX = "digest_"
STALE_CHAIN = "digest_stale"
_DIGEST_CHAIN = re.compile(r"digest_[0-9a-f]{16}")
_SCRIPT_DIGEST = re.compile(
    r"^table (\w+) (\w+) \{\n\tchain digest_([0-9a-f]{16}) \{", re.MULTILINE
)
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
FAMILIES = ("ip", "ip6", "inet", "arp", "bridge", "netdev")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
# Interface names, and nft's ifname wildcards ("brq*") built from them.
_IFNAME_PATTERN = re.compile(r"[A-Za-z0-9_.:-]{1,15}\*?|[A-Za-z0-9_.:-]{0,14}\*")
_COMMENT = re.compile(r"[A-Za-z0-9 _.:/,=+-]{0,120}")


def ident(name: str) -> str:
    """`name` if it can be a table, chain, set or counter name as is, else ValueError."""
    if not _IDENT.fullmatch(name):
        raise ValueError(f"bad nftables identifier {name!r}")
    return name


def family(name: str) -> str:
    """`name` if it is an nftables family, else ValueError."""
    if name not in FAMILIES:
        raise ValueError(f"bad nftables family {name!r}")
    return name


def ifname(pattern: str) -> str:
    """An interface name (or "prefix*" wildcard) as a quoted nft string."""
    if not _IFNAME_PATTERN.fullmatch(pattern):
        raise ValueError(f"bad interface name {pattern!r}")
    return f'"{pattern}"'


def comment(text: str) -> str:
    """A quoted rule comment (plain characters only)."""
    if not _COMMENT.fullmatch(text):
        raise ValueError(f"bad comment {text!r}")
    return f'comment "{text}"'


def addr(value: str) -> str:
    """An address or prefix in nft syntax ("10.0.0.5", "10.0.0.0/24"); ValueError if neither."""
    net = ipaddress.ip_network(value, strict=False)
    if net.prefixlen == net.max_prefixlen:
        return str(net.network_address)
    return str(net)


def elements(items: Iterable[str]) -> str:
    """An anonymous set literal: "{ a, b }"; ValueError when empty (nft has no empty one)."""
    listed = list(dict.fromkeys(items))
    if not listed:
        raise ValueError("an nftables set literal cannot be empty")
    return "{ " + ", ".join(listed) + " }"


def collapse(prefixes: Iterable[str], version: int) -> list[str]:
    """The prefixes of one IP version merged so none overlaps (interval sets refuse overlaps)."""
    nets = [ipaddress.ip_network(p, strict=False) for p in prefixes]
    if version == 4:
        merged: Iterable[IPNetwork] = ipaddress.collapse_addresses(
            n for n in nets if isinstance(n, ipaddress.IPv4Network)
        )
    else:
        merged = ipaddress.collapse_addresses(
            n for n in nets if isinstance(n, ipaddress.IPv6Network)
        )
    return [addr(str(n)) for n in merged]


def replace_table(table_family: str, name: str, body: str) -> str:
    """A script that swaps the table's whole contents for `body` in one transaction.

    The new table carries an empty chain named after the digest of what it was
    rendered from: `nft -j list chains` shows it cheaply, so `apply_tables` can
    leave an identical table alone (replacing it would zero its counters).
    """
    head = f"{family(table_family)} {ident(name)}"
    digest = hashlib.sha256(f"{head}\n{body}".encode()).hexdigest()[:16]
    marker = f"\tchain {DIGEST_PREFIX}{digest} {{\n\t}}\n"
    return f"table {head} {{}}\ndelete table {head}\ntable {head} {{\n{marker}{body}}}\n"


def mark_stale(table_family: str, name: str) -> str:
    """A script line saying the table no longer is what its digest says (after a partial update)."""
    return f"add chain {family(table_family)} {ident(name)} {STALE_CHAIN}\n"


def indent(lines: Iterable[str], depth: int = 1) -> str:
    """Lines indented by tabs, each ending with a newline."""
    pad = "\t" * depth
    return "".join(f"{pad}{line}\n" if line else "\n" for line in lines)


async def apply(script: str, *, netns: str | None = None) -> None:
    """Run an nft script as one transaction in a namespace (or the current one)."""
    await run(in_netns(netns, ["nft", "-f", "-"]), stdin=script.encode(), timeout_s=APPLY_TIMEOUT_S)


async def installed_digests(*, netns: str | None = None) -> dict[tuple[str, str], str]:
    """The digest each table of ours was rendered from, for tables that still match theirs."""
    chains: dict[tuple[str, str], list[str]] = {}
    for item in await _json(netns, "list", "chains"):
        if "chain" in item:
            chain = item["chain"]
            chains.setdefault((chain["family"], chain["table"]), []).append(chain["name"])
    found = {}
    for table, chain_names in chains.items():
        digests = [n for n in chain_names if _DIGEST_CHAIN.fullmatch(n)]
        if len(digests) == 1 and STALE_CHAIN not in chain_names:
            found[table] = digests[0].removeprefix(DIGEST_PREFIX)
    return found


async def apply_tables(script: str, *, netns: str | None = None, force: bool = False) -> bool:
    """Apply a script of `replace_table`s unless every table is installed as is; whether it ran."""
    wanted = {(f, t): d for f, t, d in _SCRIPT_DIGEST.findall(script)}
    if not force and wanted:
        installed = await installed_digests(netns=netns)
        if all(installed.get(table) == digest for table, digest in wanted.items()):
            return False
    await apply(script, netns=netns)
    return True


async def _json(netns: str | None, *args: str) -> list[dict[str, Any]]:
    data = await run_json(in_netns(netns, ["nft", "-j", *args]))
    return list(data.get("nftables", ())) if isinstance(data, dict) else []


async def list_tables(*, netns: str | None = None) -> list[tuple[str, str]]:
    """Every table in the namespace as (family, name)."""
    items = await _json(netns, "list", "tables")
    return [(i["table"]["family"], i["table"]["name"]) for i in items if "table" in i]


async def delete_table(table_family: str, name: str, *, netns: str | None = None) -> None:
    """Delete a table; an absent one is fine."""
    try:
        await apply(f"delete table {family(table_family)} {ident(name)}\n", netns=netns)
    except CommandError as exc:
        if not exc.says("no such file or directory"):
            raise


async def read_counter(
    table_family: str, table: str, name: str, *, netns: str | None = None
) -> tuple[int, int]:
    """A named counter's (packets, bytes)."""
    args = ("list", "counter", family(table_family), ident(table), ident(name))
    for item in await _json(netns, *args):
        if "counter" in item:
            return int(item["counter"]["packets"]), int(item["counter"]["bytes"])
    raise LookupError(f"no counter {name} in {table_family} {table}")


def _element_text(elem: Any) -> str:
    if isinstance(elem, dict) and "prefix" in elem:
        return f"{elem['prefix']['addr']}/{elem['prefix']['len']}"
    if isinstance(elem, dict) and "range" in elem:
        low, high = elem["range"]
        return f"{low}-{high}"
    if isinstance(elem, dict) and "elem" in elem:
        return _element_text(elem["elem"]["val"])
    return str(elem)


async def list_set(
    table_family: str, table: str, name: str, *, netns: str | None = None
) -> list[str]:
    """The elements of a named set, as text ("10.0.0.5", "10.0.1.0/24")."""
    args = ("list", "set", family(table_family), ident(table), ident(name))
    for item in await _json(netns, *args):
        if "set" in item:
            return [_element_text(e) for e in item["set"].get("elem", ())]
    raise LookupError(f"no set {name} in {table_family} {table}")
