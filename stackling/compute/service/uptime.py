"""This machine's uptime line, as the `uptime` command (procps) prints it."""

from __future__ import annotations

import os
import struct
import time
from pathlib import Path

_UTMP = Path("/var/run/utmp")
# glibc's struct utmp on Linux: 384 bytes; ut_type (short) at 0, ut_user[32] at 44.
_RECORD = 384
_USER_PROCESS = 7


def _seconds_up() -> float:
    return float(Path("/proc/uptime").read_text().split()[0])


def logged_in_users(path: Path = _UTMP) -> int:
    """Login sessions in utmp (0 when the file is missing, as in most containers)."""
    try:
        data = path.read_bytes()
    except OSError:
        return 0
    count = 0
    for offset in range(0, len(data) - _RECORD + 1, _RECORD):
        (kind,) = struct.unpack_from("<h", data, offset)
        if kind == _USER_PROCESS and data[offset + 44] != 0:
            count += 1
    return count


def format_uptime(
    now: time.struct_time, seconds_up: float, users: int, load: tuple[float, float, float]
) -> str:
    """procps' line: ` 10:21:31 up 5 days,  3:02,  2 users,  load average: 0.00, 0.01, 0.05`."""
    minutes_up = int(seconds_up) // 60
    days, hours, minutes = minutes_up // 1440, (minutes_up // 60) % 24, minutes_up % 60
    text = f" {now.tm_hour:02d}:{now.tm_min:02d}:{now.tm_sec:02d} up "
    if days:
        text += f"{days} {'days' if days > 1 else 'day'}, "
    text += f"{hours:2d}:{minutes:02d}, " if hours else f"{minutes} min, "
    text += f"{users:2d} {'users' if users > 1 else 'user'}, "
    return text + f" load average: {load[0]:.2f}, {load[1]:.2f}, {load[2]:.2f}"


def machine_uptime() -> str:
    """The uptime line of the machine this process runs on."""
    return format_uptime(time.localtime(), _seconds_up(), logged_in_users(), os.getloadavg())
