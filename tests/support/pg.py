"""A throwaway PostgreSQL cluster for the test suite: initdb in a temp dir, one database per test.

PostgreSQL refuses to run as root, so when the suite runs as root the server
binaries run as the `postgres` system user (which the Debian package creates).
The cluster listens only on 127.0.0.1, on a free port, with fsync off: nothing
in it has to survive the run.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

SUPERUSER = "postgres"
INSTALL_HINT = (
    "PostgreSQL server binaries (initdb, pg_ctl, postgres) are needed for the PostgreSQL "
    "half of the functional suite; `make install-test` installs them (Debian package "
    "`postgresql`), or point STACKLING_TEST_PG_BIN at their directory."
)


class PostgresUnavailable(RuntimeError):
    """The cluster cannot be created or started; the message says why and what to do."""


def find_bin_dir() -> Path:
    """The directory holding initdb/pg_ctl: $STACKLING_TEST_PG_BIN, Debian's layout, or PATH."""
    explicit = os.environ.get("STACKLING_TEST_PG_BIN")
    candidates = [explicit] if explicit else []
    candidates += sorted(
        glob.glob("/usr/lib/postgresql/*/bin"),
        key=lambda p: int(p.split("/")[-2]) if p.split("/")[-2].isdigit() else 0,
        reverse=True,
    )
    which = shutil.which("initdb")
    if which:
        candidates.append(str(Path(which).parent))
    for candidate in candidates:
        path = Path(candidate)
        if (path / "initdb").is_file() and (path / "pg_ctl").is_file():
            return path
    raise PostgresUnavailable(f"no PostgreSQL server binaries found. {INSTALL_HINT}")


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PostgresCluster:
    """One initdb'd cluster in a temp dir, started on a free loopback port."""

    def __init__(self, bin_dir: Path | None = None) -> None:
        self.bin_dir = bin_dir or find_bin_dir()
        self.port = 0
        self.base = Path(tempfile.mkdtemp(prefix="stackling-pg-"))
        self.data_dir = self.base / "data"
        self.log_file = self.base / "postgres.log"
        self._as_user: list[str] = []
        if os.geteuid() == 0:
            try:
                entry = pwd.getpwnam(SUPERUSER)
            except KeyError:
                shutil.rmtree(self.base, ignore_errors=True)
                raise PostgresUnavailable(
                    f"running as root but there is no `{SUPERUSER}` system user to run the "
                    f"server as. {INSTALL_HINT}"
                ) from None
            os.chown(self.base, entry.pw_uid, entry.pw_gid)
            self._as_user = ["runuser", "-u", SUPERUSER, "--"]
        self.started = False

    def _run(self, *argv: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
        cmd = [*self._as_user, *argv]
        proc = subprocess.run(
            cmd,
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=self.base,
            check=False,
        )
        if proc.returncode != 0:
            raise PostgresUnavailable(
                f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
                f"\n{self._log_tail()}"
            )
        return proc

    def _log_tail(self) -> str:
        try:
            return "server log:\n" + "\n".join(self.log_file.read_text().splitlines()[-20:])
        except OSError:
            return ""

    def start(self) -> None:
        """initdb (trust auth, no fsync) and start the server; retried on a port race."""
        self._run(
            str(self.bin_dir / "initdb"),
            "-D",
            str(self.data_dir),
            "-U",
            SUPERUSER,
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        )
        last: Exception | None = None
        for _ in range(3):
            self.port = free_port()
            options = " ".join(
                [
                    "-c listen_addresses=127.0.0.1",
                    f"-c port={self.port}",
                    f"-c unix_socket_directories={self.base}",
                    "-c fsync=off",
                    "-c synchronous_commit=off",
                    "-c full_page_writes=off",
                    "-c max_connections=200",
                    "-c shared_buffers=32MB",
                ]
            )
            try:
                self._run(
                    str(self.bin_dir / "pg_ctl"),
                    "-D",
                    str(self.data_dir),
                    "-l",
                    str(self.log_file),
                    "-o",
                    options,
                    "-w",
                    "-t",
                    "60",
                    "start",
                    timeout=90,
                )
            except PostgresUnavailable as exc:
                last = exc
                continue
            self.started = True
            return
        raise PostgresUnavailable(f"the server did not start: {last}")

    def stop(self) -> None:
        """Stop the server at once and remove the cluster."""
        if self.started:
            with contextlib.suppress(PostgresUnavailable, subprocess.TimeoutExpired):
                self._run(
                    str(self.bin_dir / "pg_ctl"),
                    "-D",
                    str(self.data_dir),
                    "-m",
                    "immediate",
                    "stop",
                )
            self.started = False
        shutil.rmtree(self.base, ignore_errors=True)

    def psql(self, sql: str, database: str = "postgres") -> str:
        """Run one SQL statement as the superuser over TCP; its output."""
        return self.psql_each([sql], database)

    def psql_each(self, statements: list[str], database: str = "postgres") -> str:
        """Run statements one after the other, each in its own transaction, in one psql.

        One psql process for many statements: starting psql costs more than a
        CREATE DATABASE, and the suite creates one database per test.
        """
        commands = [arg for sql in statements for arg in ("-c", sql)]
        proc = subprocess.run(
            [
                str(self.bin_dir / "psql"),
                "-X",
                "-q",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                SUPERUSER,
                "-d",
                database,
                *commands,
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if proc.returncode != 0:
            raise PostgresUnavailable(f"psql {statements!r} failed: {proc.stderr.strip()}")
        return proc.stdout

    def create_database(self, prefix: str = "t") -> str:
        """A new empty database; its name."""
        return self.create_databases(1, prefix)[0]

    def create_databases(self, count: int, prefix: str = "t") -> list[str]:
        """`count` new empty databases (one psql for all); their names."""
        names = [f"{prefix}_{uuid.uuid4().hex[:16]}" for _ in range(count)]
        self.psql_each([f'CREATE DATABASE "{name}"' for name in names])
        return names

    def drop_database(self, name: str) -> None:
        """Drop a database, disconnecting whoever still uses it."""
        self.drop_databases([name])

    def drop_databases(self, names: list[str]) -> None:
        """Drop databases (one psql for all), disconnecting whoever still uses them."""
        if names:
            self.psql_each([f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)' for name in names])

    def url(self, database: str, driver: str = "postgresql+asyncpg") -> str:
        """SQLAlchemy URL of a database in this cluster."""
        return f"{driver}://{SUPERUSER}@127.0.0.1:{self.port}/{database}"


class DatabasePool:
    """Fresh, empty databases of one cluster, created and dropped a batch at a time.

    Each test still gets a database nobody used before (created from template1
    like any CREATE DATABASE), and gives it back to be dropped; only the psql
    round trips are shared: `batch` creations per psql, and the drops of up to
    `batch` used databases per psql. Whatever is left is dropped by `close()`.
    """

    def __init__(self, cluster: PostgresCluster, batch: int = 8) -> None:
        self.cluster = cluster
        self.batch = batch
        self._fresh: list[str] = []
        self._used: list[str] = []

    def take(self) -> str:
        """The name of a fresh, empty database, now the caller's."""
        if not self._fresh:
            self._fresh = self.cluster.create_databases(self.batch)
        return self._fresh.pop()

    def give_back(self, name: str) -> None:
        """A database the caller is done with: it is dropped with the next batch."""
        self._used.append(name)
        if len(self._used) >= self.batch:
            self._flush()

    def _flush(self) -> None:
        used, self._used = self._used, []
        self.cluster.drop_databases(used)

    def close(self) -> None:
        """Drop every database this pool created and still knows of."""
        leftover, self._fresh = self._fresh, []
        self._used += leftover
        self._flush()
