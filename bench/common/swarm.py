"""Headless locust runs against a server (bench/locustfile.py), shared by the homepage and soak benchmarks."""

import json
import os
import subprocess
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from . import REPO_DIR, VENV_BIN

DEV_DATA_DIR = REPO_DIR / ".data"
REQUEST_TIMEOUT_S = 30
PRECOMPUTED = 2000
LOCUST = VENV_BIN / "locust"
LOCUSTFILE = REPO_DIR / "bench" / "locustfile.py"
# Locust imports gevent and the locustfile before its clock starts; on a busy machine that takes seconds.
LOCUST_START_MARGIN_S = 120
RUN_MAKE = "run `make run` once first (it creates the demo shop, its API key and its first models)"
INSTALL_LOCUST = "run `make bench`, or `.venv/bin/pip install -r bench/requirements.txt`"


@dataclass
class Demo:
    shop: str
    families: list[str]
    shoppers: list[str]  # the ones whose pages are precomputed
    others: list[str]
    items: list[str]
    everyone: list[str] = field(default_factory=list)  # every shopper with an event who allows personalization


@dataclass
class Outcome:
    kind: str
    latency_ms: float
    ok: bool


class Swarm:
    """Headless locust runs against one server, each with the bench/locustfile.py inputs it needs."""

    def __init__(self, url: str, api_key: str, demo: Demo, workdir: Path):
        self.url, self.workdir = url, workdir
        self.inputs = {
            "api_key": api_key, "items": demo.items, "cached_shopper": demo.shoppers[0],
            "request_timeout_s": REQUEST_TIMEOUT_S,
        }

    def run(self, mix: dict[str, int], *, shoppers: list[str], users: int, seconds: int, rate: float, seed: int,
            warm_cached: bool = False):
        """Runs to the end, known and just-active ids drawn from `shoppers`; returns the page outcomes and the
        seconds they were answered over.

        `rate` 0: a closed loop, each user sending its next request as soon as the last one answered.
        """
        run_id = uuid.uuid4().hex[:8]  # a fresh one per run: the locustfile numbers events from 0 each time
        log_path = self.workdir / f"requests-{run_id}.tsv"
        config_path = self.workdir / f"config-{run_id}.json"
        config_path.write_text(json.dumps({
            **self.inputs, "shoppers": shoppers, "mix": mix, "period": users / rate if rate else 0, "warm_cached": warm_cached,
            "run_id": run_id, "seed": seed, "log_path": str(log_path),
        }))
        output = self._locust(users=users, seconds=seconds, env={**os.environ, "BENCH_HOMEPAGE_CONFIG": str(config_path)})
        outcomes, answered_over = outcomes_read(log_path)
        if len(outcomes) < 2:
            raise RuntimeError(f"locust had fewer than 2 pages answered:\n{output_tail(output)}")
        return outcomes, answered_over

    def _locust(self, *, users: int, seconds: int, env: dict[str, str]) -> str:
        """Locust's summary and log lines."""
        command = [
            str(LOCUST), "-f", str(LOCUSTFILE), "--headless", "--host", self.url,
            # All users spawn at once; the locustfile spreads their requests over each one's period.
            "--users", str(users), "--spawn-rate", str(users), "--run-time", f"{seconds}s",
            # Requests in flight at the end finish and are counted rather than cut off.
            "--stop-timeout", f"{REQUEST_TIMEOUT_S}s",
            # Failed requests are in the rows; any other exit status means locust itself failed.
            "--only-summary", "--exit-code-on-error", "0",
        ]
        # stdin closed: with a terminal there, headless locust would read keys from it.
        completed = subprocess.run(
            command, cwd=REPO_DIR, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
            timeout=seconds + REQUEST_TIMEOUT_S + LOCUST_START_MARGIN_S,
        )
        output = completed.stdout + completed.stderr
        if completed.returncode != 0:
            raise RuntimeError(f"locust exited with {completed.returncode}:\n{output_tail(output)}")
        return output


def output_tail(output: str, lines: int = 30) -> str:
    return "\n".join(output.splitlines()[-lines:])


def outcomes_read(log_path: Path) -> tuple[list[Outcome], float]:
    """Page requests from the locustfile's log (event POSTs left out), and the seconds from the first page answered to the last.

    Answers come at the sending rate while the server keeps up and at its throughput once it does not,
    so their span gives the achieved rate without counting the first request's latency as load time.
    """
    outcomes, ends = [], []
    for line in log_path.read_text().splitlines():
        name, started, response_ms, ok = line.split("\t")
        if name.startswith("page "):
            outcomes.append(Outcome(name.removeprefix("page "), float(response_ms), ok == "1"))
            ends.append(float(started) + float(response_ms) / 1000)
    return outcomes, max(ends) - min(ends) if ends else 0.0
