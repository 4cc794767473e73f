"""Helpers shared by the benchmarks: the machine, a gunicorn server on its own data, memory, tables. Benchmarks
import these (and the submodules: datasets, the locust swarm, the cold-start report), never each other."""

import fcntl
import importlib.util
import os
import platform
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import psutil
import requests

REPO_DIR = Path(__file__).resolve().parent.parent.parent
RESULTS_DIR = REPO_DIR / "bench" / "results"
# Its own embedded PostgreSQL and Redis, so a run never touches the demo database.
BENCH_DATA_DIR = REPO_DIR / ".data" / "bench"
VENV_BIN = Path(sys.executable).parent
SERVER_START_TIMEOUT_S = 120
SERVER_STOP_TIMEOUT_S = 30


@dataclass
class BenchResult:
    """One benchmark's outcome: a row per case (column name to value), or why it was skipped.

    `metrics` holds the headline figures by name, for tools that read the JSON.
    """

    name: str
    rows: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    metrics: dict = field(default_factory=dict)
    skipped: str | None = None
    machine: str = ""
    date: str = ""
    command: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class BenchServer:
    url: str
    api_key: str
    shop: str
    pid: int
    postgres_pid: int | None = None


def command_line() -> str:
    return shlex.join([".venv/bin/python", "-m", "bench", *sys.argv[1:]])


def today() -> str:
    return datetime.now(timezone.utc).date().isoformat()


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _gpu_name() -> str | None:
    # torch takes seconds to import and may be absent; only look when it is installed.
    if importlib.util.find_spec("torch") is None:
        return None
    import torch

    return torch.cuda.get_device_name(0) if torch.cuda.is_available() else None


def machine_describe() -> str:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    ram_gib = psutil.virtual_memory().total / 2**30
    parts = [f"CPU: {_cpu_model()}", f"{cores} cores", f"RAM: {ram_gib:.0f} GiB"]
    gpu = _gpu_name()
    parts.append(f"GPU: {gpu}" if gpu else "no GPU")
    return ", ".join(parts)


def dataset_missing(path: Path) -> str | None:
    """Why a benchmark on the Beauty data must skip, or None when the dataset is there."""
    if (path / "sequences.txt").exists():
        return None
    return f"no dataset at {path}; set VITRINE_DEMO_DATA to an amazon_beauty_5core folder"


def dataset_result(name: str, path: Path) -> BenchResult:
    """The result of a benchmark on the Beauty data at `path`, already marked skipped where it is missing."""
    return BenchResult(name=name, machine=machine_describe(), skipped=dataset_missing(path))


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) with linear interpolation between ranks, as numpy's default."""
    if not values:
        raise ValueError("percentile of no values")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        if value != value:
            return ""
        if abs(value) < 1:
            return f"{value:.4f}"
        return f"{value:,.2f}" if abs(value) < 100 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def markdown_table(rows: list[dict]) -> str:
    if not rows:
        return ""
    columns = list(dict.fromkeys(column for row in rows for column in row))
    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    lines += ["| " + " | ".join(_cell(row.get(column, "")) for column in columns) + " |" for row in rows]
    return "\n".join(lines)


def _trees_cpu_seconds(pids: list[int]) -> float:
    """CPU time of these processes, their live descendants and the children they have already reaped,
    each process once (a server started by the bench is in both its tree and the bench's)."""
    processes: dict[int, psutil.Process] = {}
    reaped = 0.0
    for pid in pids:
        try:
            root = psutil.Process(pid)
            times = root.cpu_times()
            reaped += times.children_user + times.children_system
            processes.update({process.pid: process for process in [root, *root.children(recursive=True)]})
        except psutil.NoSuchProcess:
            continue
    total = reaped
    for process in processes.values():
        try:
            times = process.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            continue
    return total


def _machine_busy_seconds() -> float:
    times = psutil.cpu_times()
    return sum(times) - times.idle - getattr(times, "iowait", 0.0)


class OtherLoad:
    """Share of the machine's CPU taken by processes other than `pids` (and their children) meanwhile.

    Timings on a machine shared with other jobs are low; this says by how much the run was crowded.
    """

    def __init__(self, *pids: int | None):
        self.pids = [pid for pid in pids if pid]
        self.percent = 0.0

    def _ours(self) -> float:
        return _trees_cpu_seconds(self.pids)

    def __enter__(self) -> "OtherLoad":
        self._started = time.perf_counter()
        self._busy, self._ours_start = _machine_busy_seconds(), self._ours()
        return self

    def __exit__(self, *exc_info) -> None:
        capacity = (time.perf_counter() - self._started) * (psutil.cpu_count() or 1)
        others = (_machine_busy_seconds() - self._busy) - (self._ours() - self._ours_start)
        self.percent = max(0.0, 100 * others / capacity)


class MemorySampler:
    """Peak resident memory of a process and its children, sampled every half second in a thread."""

    # Each sample lists every process on the machine to find the children: every 50 ms, that took a tenth
    # of a core from the server being measured. Resident memory moves far slower than that.
    INTERVAL_S = 0.5

    def __init__(self, pid: int):
        self.root = psutil.Process(pid)
        self.peak_bytes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @property
    def peak_mib(self) -> float:
        return self.peak_bytes / 2**20

    def sample(self) -> int:
        total = 0
        for process in [self.root, *self.root.children(recursive=True)]:
            try:
                total += process.memory_info().rss
            except psutil.NoSuchProcess:
                continue  # a worker that exits between listing and reading
        self.peak_bytes = max(self.peak_bytes, total)
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.INTERVAL_S)

    def __enter__(self) -> "MemorySampler":
        self.sample()
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()


def bench_env(data_dir: Path = BENCH_DATA_DIR) -> dict[str, str]:
    env = {**os.environ, "VITRINE_DATA_DIR": str(data_dir), "DJANGO_SETTINGS_MODULE": "config.settings"}
    # A DATABASE_URL or REDIS_URL in the shell would point the bench at a shared server.
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    # One key sends every request of a bench: the per-key rate limit would measure itself, not the server.
    env.setdefault("VITRINE_API_RATE", "1000000/min")
    return env


def manage(*args: str, env: dict[str, str]) -> str:
    completed = subprocess.run(
        [str(VENV_BIN / "python"), "manage.py", *args], cwd=REPO_DIR, env=env, capture_output=True, text=True
    )
    if completed.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{completed.stdout}{completed.stderr}")
    return completed.stdout


def shop_with_key_create(*, env: dict[str, str]) -> tuple[str, str]:
    """A new shop per run, so runs never see each other's items and events; returns (slug, API key)."""
    slug = f"bench-{datetime.now():%Y%m%d-%H%M%S}"
    output = manage("create_api_token", "bench", "--shop", slug, env=env)
    return slug, output.split()[-1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until_answers(url: str, process: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}; see {log_path}")
        try:
            requests.get(url, timeout=10)
            return  # any HTTP answer, 401 included, means the workers are up
        except (requests.ConnectionError, requests.Timeout):
            time.sleep(0.2)  # a worker's first request loads the URLconf and DRF: slow on a busy machine
    raise RuntimeError(f"gunicorn did not answer within {SERVER_START_TIMEOUT_S} s; see {log_path}")


def _stop_process_group(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    # SIGTERM lets the workers exit normally, which stops the embedded PostgreSQL they attached to.
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(SERVER_STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _log_tail_print(log_path: Path, lines: int = 30) -> None:
    if log_path.exists():
        tail = log_path.read_text(errors="replace").splitlines()[-lines:]
        print(f"Last lines of {log_path}:", *tail, sep="\n", file=sys.stderr)


@contextmanager
def _exclusive(lock_path: Path):
    """One bench server per data dir at a time: a second run would stop the first one's PostgreSQL and Redis."""
    with lock_path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def embedded_stop(*, env: dict[str, str]) -> None:
    subprocess.run(
        [str(VENV_BIN / "python"), "-m", "config.embedded", "stop"], cwd=REPO_DIR, env=env, capture_output=True
    )


@contextmanager
def dev_data_env(data_dir: Path):
    """The environment of a data dir whose embedded servers a bench uses as it finds them: stopped after only
    if this bench started them (its first query did)."""
    env = bench_env(data_dir)
    was_running = _postgres_pid(data_dir) is not None
    try:
        yield env
    finally:
        if not was_running:
            embedded_stop(env=env)


def _postgres_pid(data_dir: Path) -> int | None:
    pid_file = data_dir / "pg" / "postmaster.pid"
    try:
        return int(pid_file.read_text().split()[0])
    except (OSError, IndexError, ValueError):
        return None


@contextmanager
def gunicorn_serving(*, env: dict[str, str], log_path: Path, workers: int = 2, app: str = "config.wsgi", extra_args: tuple[str, ...] = ()):
    """gunicorn on a free port, yielding (process, url) once it answers; its log is printed if anything fails."""
    port = free_port()
    command = [str(VENV_BIN / "gunicorn"), app, "--bind", f"127.0.0.1:{port}", "--workers", str(workers), *extra_args]
    with log_path.open("w") as log:
        process = subprocess.Popen(command, cwd=REPO_DIR, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_answers(f"{url}/api/v1/events", process, log_path)
        yield process, url
    except BaseException:
        _log_tail_print(log_path)
        raise
    finally:
        _stop_process_group(process)


@contextmanager
def bench_server(*, workers: int = 2, app: str = "config.wsgi", data_dir: Path = BENCH_DATA_DIR,
                 prepare: Callable[[dict[str, str], str], None] | None = None):
    """Migrate the bench data dir, create a fresh shop and key, serve `app` with gunicorn; stop everything after.

    `prepare(env, shop)` runs before gunicorn starts, so that its workers warm up on what it made (a catalog, models).
    """
    env = bench_env(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    log_path = data_dir / "gunicorn.log"
    with _exclusive(data_dir / ".bench.lock"):
        try:
            manage("migrate", "--noinput", env=env)
            slug, api_key = shop_with_key_create(env=env)
            if prepare is not None:
                prepare(env, slug)
            with gunicorn_serving(env=env, log_path=log_path, workers=workers, app=app) as (process, url):
                yield BenchServer(url=url, api_key=api_key, shop=slug, pid=process.pid, postgres_pid=_postgres_pid(data_dir))
        finally:
            embedded_stop(env=env)
