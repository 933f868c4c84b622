"""Traffic probes that the network tests run inside their namespaces (`ip netns exec`).

Standard library only, run as a script: `python probe.py <command> ...`. Every
command stops by itself (timeouts, a bounded lifetime), so a failed test never
leaves traffic behind.

    ping ADDR                 ICMP echo until one reply (exit 0) or the timeout (exit 1)
    serve PORT...             TCP servers: say the client's address, then echo lines
    connect ADDR PORT         print the address the server saw us as (exit 1 if unreachable)
    session ADDR PORT         connect, then echo each stdin line through the server
    udp ADDR PORT             send a few UDP datagrams
    dns SERVER NAME           print the IPv4 addresses of an A query
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import select
import socket
import struct
import sys
import time


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


def ping(addr: str, timeout_s: float) -> int:
    """Echo requests every 200 ms until a reply comes or time runs out."""
    ident = os.getpid() & 0xFFFF
    deadline = time.monotonic() + timeout_s
    with socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP) as sock:
        seq = 0
        while time.monotonic() < deadline:
            seq += 1
            header = struct.pack("!BBHHH", 8, 0, 0, ident, seq)
            payload = b"stackling-probe"
            packet = struct.pack("!BBHHH", 8, 0, _checksum(header + payload), ident, seq)
            try:
                sock.sendto(packet + payload, (addr, 0))
            except OSError as exc:  # no route yet, say: try again until the deadline
                print(f"send: {exc}", file=sys.stderr)
            wait_until = min(deadline, time.monotonic() + 0.2)
            while (left := wait_until - time.monotonic()) > 0:
                ready, _, _ = select.select([sock], [], [], left)
                if not ready:
                    break
                data, (src, _) = sock.recvfrom(2048)
                offset = (data[0] & 0x0F) * 4
                kind, _, _, their_ident, _ = struct.unpack("!BBHHH", data[offset : offset + 8])
                if kind == 0 and their_ident == ident and src == addr:
                    print(f"reply from {src}")
                    return 0
    print(f"no reply from {addr} in {timeout_s:g}s", file=sys.stderr)
    return 1


async def _serve(ports: list[int], lifetime_s: float, bind: str) -> int:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")[0]
        writer.write(f"{peer}\n".encode())
        try:
            while line := await reader.readline():
                writer.write(line)
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    servers = [await asyncio.start_server(handle, bind, port) for port in ports]
    print("ready", flush=True)
    await asyncio.sleep(lifetime_s)
    for server in servers:
        server.close()
    return 0


def _connect(addr: str, port: int, timeout_s: float, bind: str | None) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET)
    sock.settimeout(timeout_s)
    if bind:
        sock.bind((bind, 0))
    sock.connect((addr, port))
    return sock


def connect(addr: str, port: int, timeout_s: float, bind: str | None) -> int:
    """Connect and print what the server saw us as."""
    try:
        with _connect(addr, port, timeout_s, bind) as sock, sock.makefile("r") as lines:
            print(lines.readline().strip())
    except OSError as exc:
        print(f"connect {addr}:{port}: {exc!r}", file=sys.stderr)
        return 1
    return 0


def session(addr: str, port: int, timeout_s: float) -> int:
    """Connect once, then send each line of stdin and print the echo."""
    try:
        with _connect(addr, port, timeout_s, None) as sock, sock.makefile("rw") as stream:
            print(f"connected {stream.readline().strip()}", flush=True)
            for line in sys.stdin:
                stream.write(line)
                stream.flush()
                print(f"echo {stream.readline().strip()}", flush=True)
    except OSError as exc:
        print(f"session {addr}:{port}: {exc!r}", flush=True)
        return 1
    return 0


def udp(addr: str, port: int, count: int) -> int:
    """Send `count` datagrams (no answer expected)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for _ in range(count):
            try:
                sock.sendto(b"stackling-probe", (addr, port))
            except OSError as exc:
                print(f"send: {exc}", file=sys.stderr)
            time.sleep(0.02)
    return 0


def dns(server: str, name: str, timeout_s: float) -> int:
    """One A query over UDP; print each address of the answer."""
    query_id = random.randrange(1 << 16)
    question = b"".join(bytes([len(p)]) + p.encode() for p in name.rstrip(".").split("."))
    packet = struct.pack("!HHHHHH", query_id, 0x0100, 1, 0, 0, 0) + question + b"\0\0\1\0\1"
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout_s)
        sock.sendto(packet, (server, 53))
        try:
            data = sock.recv(4096)
        except OSError as exc:
            print(f"dns {server}: {exc!r}", file=sys.stderr)
            return 1
    answer_id, flags, _, answers, _, _ = struct.unpack("!HHHHHH", data[:12])
    if answer_id != query_id or flags & 0x000F:
        print(f"dns {server}: rcode {flags & 0x000F}", file=sys.stderr)
        return 1
    offset = 12 + len(question) + 5
    for _ in range(answers):
        while data[offset] not in (0,) and data[offset] & 0xC0 != 0xC0:
            offset += data[offset] + 1
        offset += 2 if data[offset] & 0xC0 == 0xC0 else 1
        kind, _, _, length = struct.unpack("!HHIH", data[offset : offset + 10])
        offset += 10
        if kind == 1 and length == 4:
            print(socket.inet_ntoa(data[offset : offset + 4]))
        offset += length
    return 0


def main() -> int:
    """Parse the command line and run one probe."""
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("ping")
    p.add_argument("addr")
    p.add_argument("--timeout", type=float, default=5.0)
    p = sub.add_parser("serve")
    p.add_argument("ports", type=int, nargs="+")
    p.add_argument("--lifetime", type=float, default=60.0)
    p.add_argument("--bind", default="0.0.0.0")
    for command in ("connect", "session"):
        p = sub.add_parser(command)
        p.add_argument("addr")
        p.add_argument("port", type=int)
        p.add_argument("--timeout", type=float, default=3.0)
        p.add_argument("--bind")
    p = sub.add_parser("udp")
    p.add_argument("addr")
    p.add_argument("port", type=int)
    p.add_argument("--count", type=int, default=5)
    p = sub.add_parser("dns")
    p.add_argument("server")
    p.add_argument("name")
    p.add_argument("--timeout", type=float, default=3.0)
    args = parser.parse_args()
    if args.command == "ping":
        return ping(args.addr, args.timeout)
    if args.command == "serve":
        return asyncio.run(_serve(args.ports, args.lifetime, args.bind))
    if args.command == "connect":
        return connect(args.addr, args.port, args.timeout, args.bind)
    if args.command == "session":
        return session(args.addr, args.port, args.timeout)
    if args.command == "udp":
        return udp(args.addr, args.port, args.count)
    return dns(args.server, args.name, args.timeout)


if __name__ == "__main__":
    sys.exit(main())
