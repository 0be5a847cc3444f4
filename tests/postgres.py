"""A real PostgreSQL server for the tests: one per test session, in a temporary folder, on a free
127.0.0.1 port, with a fresh database for each test that asks for one.

The server's programs are found on PATH (`initdb`, `pg_ctl`) or in Debian's
/usr/lib/postgresql/<version>/bin. Run as root (CI), they run as the `postgres` user through
`runuser`, since PostgreSQL refuses to run as root. Without them the PostgreSQL tests are skipped
with a message saying how to get them, unless AVATAROPS_REQUIRE_POSTGRES=1 (set by .ci/run),
which turns the skip into a failure: CI must run them.
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.bot_process import free_port

REQUIRE = "AVATAROPS_REQUIRE_POSTGRES"
USER = "avatarops"
PASSWORD = "pg-password-SECRET"


def _bin_dir() -> Path | None:
    on_path = shutil.which("pg_ctl")
    if on_path and shutil.which("initdb"):
        return Path(on_path).parent
    debian = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    return debian[-1].parent if debian else None


def unavailable(reason: str) -> None:
    """Skip (a developer without PostgreSQL) or fail (CI, where it must run)."""
    if os.environ.get(REQUIRE) == "1":
        pytest.fail(f"PostgreSQL is required here ({REQUIRE}=1) but {reason}", pytrace=False)
    pytest.skip(
        f"PostgreSQL tests skipped: {reason}; install PostgreSQL (Debian: apt-get install"
        " postgresql) to run them"
    )


@dataclass
class Server:
    host: str
    port: int
    _names: Iterator[int]
    #: `pg_ctl ... -D <data>` (as the postgres user when root), for `stop` and `start`
    _pg_ctl: list[str] = field(default_factory=list)
    _options: str = ""
    _log: str = ""

    def stop(self) -> None:
        """Stop the server at once, as a crash or an operator would (clients are cut off)."""
        subprocess.run(
            [*self._pg_ctl, "-m", "immediate", "-w", "stop"], check=True, capture_output=True
        )

    def start(self) -> None:
        """Start it again, on the same port, with the same data."""
        subprocess.run(
            [*self._pg_ctl, "-l", self._log, "-o", self._options, "-w", "start"],
            check=True,
            capture_output=True,
        )

    def url(self, database: str = "postgres", password: str = PASSWORD) -> str:
        return f"postgresql://{USER}:{password}@{self.host}:{self.port}/{database}"

    def new_database(self, password: str = PASSWORD) -> str:
        """A fresh, empty database; its URL (with `password`, e.g. "${PG_PASSWORD}")."""
        name = f"test_{next(self._names)}"
        self.run(f"CREATE DATABASE {name}")
        return self.url(name, password)

    def run(self, sql: str) -> None:
        """One statement as the server's superuser (psql)."""
        bin_dir = _bin_dir()
        assert bin_dir is not None
        psql = bin_dir / "psql" if (bin_dir / "psql").exists() else shutil.which("psql")
        assert psql is not None
        subprocess.run(
            [str(psql), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", self.url(), "-c", sql],
            check=True,
            capture_output=True,
        )


@contextmanager
def running_server() -> Iterator[Server]:
    bin_dir = _bin_dir()
    if bin_dir is None:
        unavailable("its programs (initdb, pg_ctl) were not found")
    assert bin_dir is not None
    as_user: list[str] = []
    if os.geteuid() == 0:
        as_user = ["runuser", "-u", "postgres", "--"]
    # as root, in /tmp: the postgres user must reach the folder (a root TMPDIR may be private)
    where = "/tmp" if as_user else None
    with tempfile.TemporaryDirectory(prefix="avatarops-pg-", dir=where) as folder:
        data = Path(folder) / "data"
        password_file = Path(folder) / "password"
        password_file.write_text(PASSWORD)
        if as_user:
            shutil.chown(folder, "postgres")
            shutil.chown(password_file, "postgres")
        port = free_port()
        subprocess.run(
            [
                *as_user,
                str(bin_dir / "initdb"),
                "-D",
                str(data),
                "-U",
                USER,
                "--pwfile",
                str(password_file),
                "-A",
                "scram-sha-256",
                "-E",
                "UTF8",
                "--no-sync",
            ],
            check=True,
            capture_output=True,
        )
        options = (
            f"-c listen_addresses=127.0.0.1 -p {port} -k {folder} -c fsync=off"
            " -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        subprocess.run(
            [
                *as_user,
                str(bin_dir / "pg_ctl"),
                "-D",
                str(data),
                "-l",
                str(Path(folder) / "log"),
                "-o",
                options,
                "-w",
                "start",
            ],
            check=True,
            capture_output=True,
        )
        try:
            yield Server(
                "127.0.0.1",
                port,
                itertools.count(1),
                [*as_user, str(bin_dir / "pg_ctl"), "-D", str(data)],
                options,
                str(Path(folder) / "log"),
            )
        finally:
            subprocess.run(
                [*as_user, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                capture_output=True,
            )
