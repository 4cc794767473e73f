import gc
import importlib.util
from pathlib import Path

import pytest

from recommender.models import Family

pytestmark = pytest.mark.django_db

CONF = Path(__file__).resolve().parents[2] / "gunicorn.conf.py"


class Worker:
    pid = 4242

    def __init__(self):
        self.notified = 0

    def notify(self):
        self.notified += 1


def _conf():
    spec = importlib.util.spec_from_file_location("gunicorn_conf", CONF)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_worker_warms_up_the_serving_shops_before_serving(pattern_shop, train, caplog):
    train(pattern_shop, Family.MF)
    worker = Worker()

    try:
        _conf().post_worker_init(worker)

        assert worker.notified == 1
        assert f"Worker 4242 warmed up 1 shop(s): {pattern_shop.slug}" in caplog.text
        assert gc.get_freeze_count() > 0  # what it loaded is left out of the full collections
    finally:
        gc.unfreeze()


def test_four_workers_unless_web_concurrency_says_otherwise(monkeypatch):
    assert _conf().workers == 4
    monkeypatch.setenv("WEB_CONCURRENCY", "2")
    assert _conf().workers == 2
