import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.db import connection

from config import embedded
from tests.support import wait_for
from bench.common import free_port

PROJECT_DIR = Path(__file__).resolve().parents[2]
START_ALL = (
    "from config import embedded; directory = embedded.data_dir(); embedded.postgres_settings(directory, 'vitrine'); "
    "[embedded.redis_start(directory, server) for server in embedded.REDIS_SERVERS]"
)


def test_the_database_is_postgresql_with_pgvector(db):
    with connection.cursor() as cursor:
        cursor.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
        assert cursor.fetchone() is not None
    assert connection.vendor == "postgresql"


def test_the_cache_is_a_real_redis():
    from django.core.cache import cache

    cache.set("vitrine-test-key", {"a": 1}, 5)
    assert cache.get("vitrine-test-key") == {"a": 1}
    assert settings.CACHES["default"]["BACKEND"].endswith("RedisCache")


def _data_dir_env(data_dir: Path) -> dict[str, str]:
    """The environment of a process whose embedded servers live in `data_dir`, with no server configured."""
    env = {**os.environ, "VITRINE_DATA_DIR": str(data_dir)}
    for name in ("DATABASE_URL", "REDIS_URL", "CACHE_REDIS_URL"):
        env.pop(name, None)
    return env


def _run(data_dir: Path, *args: str) -> str:
    """Runs `python *args` as a separate process of `data_dir`, which exits before this returns; its output."""
    done = subprocess.run(
        [sys.executable, *args],
        cwd=PROJECT_DIR, env=_data_dir_env(data_dir), capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _postgres_answers(data_dir: Path) -> bool:
    pid_file = data_dir / "pg" / "postmaster.pid"
    if not pid_file.exists():
        return False
    lines = pid_file.read_text().splitlines()
    try:
        with psycopg.connect(host=lines[4], port=lines[3], user="postgres", dbname="vitrine", connect_timeout=5) as db:
            return db.execute("SELECT 1").fetchone() == (1,)
    except psycopg.OperationalError:
        return False


def _redis_answers(data_dir: Path, server: embedded.RedisServer) -> bool:
    return embedded._redis_answers(embedded.redis_socket_path(data_dir, server))


@pytest.fixture
def own_data_dir():
    """A data dir of the test's own; whatever servers it holds are stopped after the test, then it is removed.
    Not under pytest's tmp_path, which another pytest run on the machine may remove while servers run there."""
    directory = Path(tempfile.mkdtemp(prefix="vitrine-test-"))
    yield directory
    _run(directory, "-m", "config.embedded", "stop")
    shutil.rmtree(directory)


@pytest.fixture
def redis_server(own_data_dir):
    """Starts an embedded Redis of the given kind in a data dir of the test's own (stopped with it)."""
    import redis

    def start(server: embedded.RedisServer) -> redis.Redis:
        return redis.Redis(unix_socket_path=str(embedded.redis_start(own_data_dir, server)))

    return start


def test_the_embedded_broker_snapshots_its_queues_to_disk_every_minute_of_writes(redis_server):
    assert redis_server(embedded.BROKER).config_get("save") == {"save": "60 100"}


def test_the_embedded_cache_keeps_nothing_on_disk_and_evicts_the_least_recently_used_past_its_cap(redis_server, own_data_dir):
    cache = redis_server(embedded.CACHE)
    assert cache.config_get("save") == {"save": ""}
    assert cache.config_get("maxmemory") == {"maxmemory": str(512 * 1024 * 1024)}
    cache.config_set("maxmemory", 4 * 1024 * 1024)  # a small cap, so a few writes pass it

    for number in range(100):
        cache.set(f"page-{number}", b"x" * 100_000)  # 10 MB written: past the cap, writes go on

    assert cache.exists("page-99")
    # Redis's LRU samples keys, so which page goes is chance; that the oldest go first, and the cap holds, is not.
    oldest, newest = (sum(cache.exists(f"page-{number}") for number in numbers) for numbers in (range(30), range(70, 100)))
    assert newest - oldest >= 8
    assert cache.dbsize() < 60 and cache.info("memory")["used_memory"] <= 5 * 1024 * 1024
    assert not (own_data_dir / embedded.CACHE.name / "dump.rdb").exists()


def test_the_cache_and_the_broker_are_separate_servers_by_default():
    if os.environ.get("REDIS_URL") or os.environ.get("CACHE_REDIS_URL"):
        pytest.skip("a Redis server is configured: the embedded ones are not used")
    cache_socket = str(embedded.redis_socket_path(settings.DATA_DIR, embedded.CACHE))
    broker_socket = str(embedded.redis_socket_path(settings.DATA_DIR, embedded.BROKER))
    assert cache_socket in settings.CACHES["default"]["LOCATION"]
    assert broker_socket in settings.CELERY_BROKER_URL
    assert cache_socket != broker_socket


def test_the_servers_a_process_started_keep_serving_after_it_exits(own_data_dir):
    _run(own_data_dir, "-c", START_ALL)

    assert _postgres_answers(own_data_dir)
    assert all(_redis_answers(own_data_dir, server) for server in embedded.REDIS_SERVERS)


@pytest.mark.django_db
def test_stop_stops_the_servers_of_its_own_data_dir_and_no_other(own_data_dir):
    from django.core.cache import cache

    _run(own_data_dir, "-c", START_ALL)

    said = _run(own_data_dir, "-m", "config.embedded", "stop")

    assert said.strip() == "Stopped the embedded Redis (redis), Redis (cache), PostgreSQL."
    assert not _postgres_answers(own_data_dir)
    assert not any(_redis_answers(own_data_dir, server) for server in embedded.REDIS_SERVERS)
    # The suite's own servers, in another data dir (or configured), still answer.
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)
    cache.set("vitrine-test-still-here", 1, 5)
    assert cache.get("vitrine-test-still-here") == 1


@pytest.fixture
def another_program():
    """A live process that is none of our servers: what a pid left in a pid file often names after a restart."""
    process = subprocess.Popen(["sleep", "120"])
    yield process.pid
    process.kill()
    process.wait()


def _gone_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


@pytest.mark.parametrize("left_pid", ["gone", "another program"])
def test_servers_start_again_over_the_pid_files_a_killed_server_left(own_data_dir, another_program, left_pid):
    _run(own_data_dir, "-c", START_ALL)
    pgdata = own_data_dir / "pg"
    postmaster = (pgdata / "postmaster.pid").read_text().splitlines()
    socket_lock = Path(postmaster[4]) / f".s.PGSQL.{postmaster[3]}.lock"
    # Each pid file as the running servers wrote it, less its first line: the pid.
    left_over = {pgdata / "postmaster.pid": postmaster[1:], socket_lock: socket_lock.read_text().splitlines()[1:]}
    left_over.update({own_data_dir / server.name / "redis.pid": [] for server in embedded.REDIS_SERVERS})
    _run(own_data_dir, "-m", "config.embedded", "stop")
    pid = _gone_pid() if left_pid == "gone" else another_program
    for path, rest in left_over.items():  # as servers killed with their machine leave them
        path.write_text("\n".join([str(pid), *rest]) + "\n")

    _run(own_data_dir, "-c", START_ALL)

    assert _postgres_answers(own_data_dir)
    assert all(_redis_answers(own_data_dir, server) for server in embedded.REDIS_SERVERS)
    assert int((pgdata / "postmaster.pid").read_text().split()[0]) != pid


def _postmaster_pid(data_dir: Path) -> int:
    return int((data_dir / "pg" / "postmaster.pid").read_text().split()[0])


def test_reloading_or_stopping_the_web_server_leaves_postgresql_running(own_data_dir):
    import psutil
    import requests

    port = free_port()
    env = {**_data_dir_env(own_data_dir), "WEB_CONCURRENCY": "1"}
    gunicorn = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "config.wsgi", "--bind", f"127.0.0.1:{port}"],
        cwd=PROJECT_DIR, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    master = psutil.Process(gunicorn.pid)

    def serves() -> bool:
        try:
            return requests.get(f"http://127.0.0.1:{port}/accounts/login/", timeout=10).status_code == 200
        except requests.RequestException:  # not listening yet, or no worker ready yet
            return False

    try:
        assert wait_for(serves, timeout=90.0, interval=0.2)
        postmaster = _postmaster_pid(own_data_dir)
        [first_worker] = master.children()

        gunicorn.send_signal(signal.SIGHUP)  # reload: new workers replace the old ones
        assert wait_for(lambda: any(worker.pid != first_worker.pid for worker in master.children()), timeout=90.0, interval=0.2)
        assert wait_for(lambda: not first_worker.is_running(), timeout=90.0, interval=0.2)
        assert wait_for(serves, timeout=90.0, interval=0.2)
        assert _postmaster_pid(own_data_dir) == postmaster
    finally:
        gunicorn.terminate()
        gunicorn.wait(timeout=60)

    assert psutil.pid_exists(postmaster)
    assert _postgres_answers(own_data_dir)
