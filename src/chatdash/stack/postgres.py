"""The stack's own PostgreSQL: a cluster under ``<VAR_DIR>/pg`` from the machine's server binaries.

Made with ``initdb`` on the first ``up`` (trust authentication, loopback only) and kept between ``down``
and ``up``, like a server's data directory. PostgreSQL refuses to run as root, so under root it runs as
the ``postgres`` account that Debian's package creates.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
from pathlib import Path

from chatdash.errors import ConfigError


def binary(name: str) -> str:
    """``initdb``/``pg_ctl`` from Debian's versioned folder or PATH; a clear error when neither has it."""
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}")) or [shutil.which(name) or ""]
    if not found[-1]:
        raise ConfigError(
            f"{name} is not installed: set CHATDASH_DATABASE_URL to a PostgreSQL server, or install the "
            "server binaries (Debian package: postgresql)"
        )
    return found[-1]


class Cluster:
    def __init__(self, root: Path, port: int, log: Path) -> None:
        self.root, self.port, self.log = root, port, log
        self.data = root / "data"
        self._as: list[str] = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def _run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*self._as, *args], capture_output=True, text=True, timeout=timeout, check=False
        )

    def _own(self, path: Path) -> None:
        if self._as:
            shutil.chown(path, "postgres")

    def running(self) -> bool:
        return self._run(binary("pg_ctl"), "-D", str(self.data), "status").returncode == 0

    def pid(self) -> int | None:
        try:
            return int((self.data / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def start(self) -> None:
        """Create the cluster if new, start it, and make the ``chatdash`` database."""
        self.root.mkdir(parents=True, exist_ok=True)
        self._own(self.root)
        if not (self.data / "PG_VERSION").exists():
            made = self._run(
                binary("initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8"
            )
            if made.returncode != 0:
                hint = ""
                if self._as and "Permission denied" in made.stderr:
                    hint = (
                        " - PostgreSQL runs as the postgres account here (it refuses root), which must be"
                        f" able to enter every folder down to {self.root} (chmod o+x); or set"
                        " CHATDASH_DATABASE_URL"
                    )
                raise ConfigError(f"initdb failed in {self.data}: {made.stderr.strip()[-400:]}{hint}")
        if self.running():
            return
        self.log.parent.mkdir(parents=True, exist_ok=True)
        self.log.touch()
        self._own(self.log)
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c max_connections=200"
        started = self._run(
            binary("pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.log),
            "-w",
            "-t",
            "60",
            "start",
        )
        if started.returncode != 0:
            raise ConfigError(
                f"PostgreSQL did not start on port {self.port} (log: {self.log}): "
                + started.stderr.strip()[-400:]
            )
        exists = self._run(
            binary("psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-tAc",
            "SELECT 1 FROM pg_database WHERE datname = 'chatdash'",
        )  # fmt: skip
        if exists.stdout.strip() != "1":
            made = self._run(
                binary("createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "chatdash"
            )
            if made.returncode != 0:
                raise ConfigError(f"createdb chatdash failed: {made.stderr.strip()}")

    def stop(self, mode: str = "fast") -> None:
        if self.running():
            self._run(binary("pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")
