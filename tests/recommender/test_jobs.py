"""Training runs always end: a dead run loses its lease, a lost one is never left queued, a run is trained once,
and a family has one run in flight per shop."""

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings as django_settings
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from config.celery import app
from config.queues import Queue
from recommender.models import Family, ModelVersion
from recommender.selectors import active_version
from recommender.services import (
    TrainingError,
    model_version_train,
    training_dispatch,
    training_runs_reap_stale,
    training_versions_create,
)
from recommender.tasks import train_model_version_task, train_scheduled_task
from tests.support import wait_for

LEASE_S = 2.0


def _in_flight(shop, family: str, *, started_ago: timedelta, heard_ago: timedelta | None) -> ModelVersion:
    now = timezone.now()
    return ModelVersion.objects.create(
        shop=shop, family=family, number=ModelVersion.objects.filter(shop=shop, family=family).count() + 1,
        status=ModelVersion.Status.RUNNING, device="cpu",
        started_at=now - started_ago, heartbeat_at=None if heard_ago is None else now - heard_ago,
    )


def _queued_for(shop, family: str, waited: timedelta) -> ModelVersion:
    version, = training_versions_create(shop=shop, families=[family])
    ModelVersion.objects.filter(pk=version.pk).update(created_at=timezone.now() - waited)
    return version


# Lease


@pytest.mark.django_db
def test_a_run_silent_past_its_lease_is_failed_and_the_serving_version_keeps_serving(pattern_shop, train, settings):
    serving, = train(pattern_shop, Family.POPULARITY)
    dead = _in_flight(pattern_shop, Family.POPULARITY, started_ago=timedelta(minutes=5), heard_ago=timedelta(seconds=125))
    never_heard = _in_flight(pattern_shop, Family.MF, started_ago=timedelta(minutes=5), heard_ago=None)

    assert training_runs_reap_stale() == 2

    for version in (dead, never_heard):
        version.refresh_from_db()
        assert version.status == ModelVersion.Status.FAILED and version.finished_at is not None
        assert "nothing heard from it for 120 s" in version.error
    assert active_version(shop=pattern_shop, family=Family.POPULARITY) == serving


@pytest.mark.django_db
def test_a_long_run_whose_heartbeat_is_live_is_left_running(shop_a):
    # Hours past any time limit, but heard from a moment ago: a slow run, not a dead one.
    alive = _in_flight(shop_a, Family.SEQUENTIAL, started_ago=timedelta(hours=9), heard_ago=timedelta(seconds=5))

    assert training_runs_reap_stale() == 0

    alive.refresh_from_db()
    assert alive.status == ModelVersion.Status.RUNNING and not alive.error


@pytest.mark.django_db
def test_a_run_queued_an_hour_while_no_worker_trains_is_failed_as_never_started(shop_a):
    stranded = _queued_for(shop_a, Family.MF, timedelta(minutes=61))
    fresh = _queued_for(shop_a, Family.POPULARITY, timedelta(minutes=59))

    assert training_runs_reap_stale() == 1

    stranded.refresh_from_db()
    fresh.refresh_from_db()
    assert stranded.status == ModelVersion.Status.FAILED
    assert stranded.error.startswith("Never started: no worker took this run from the train queue within 60 min.")
    assert fresh.status == ModelVersion.Status.QUEUED


@pytest.mark.django_db
def test_a_run_queued_behind_a_worker_that_trains_waits_its_turn(shop_a, shop_b):
    waiting = _queued_for(shop_a, Family.MF, timedelta(hours=3))
    _in_flight(shop_b, Family.SEQUENTIAL, started_ago=timedelta(hours=3), heard_ago=timedelta(seconds=5))

    assert training_runs_reap_stale() == 0

    waiting.refresh_from_db()
    assert waiting.status == ModelVersion.Status.QUEUED


@pytest.mark.django_db
def test_a_run_failed_by_the_reaper_while_it_trains_stays_failed_and_does_not_serve(pattern_shop, train):
    serving, = train(pattern_shop, Family.POPULARITY)
    late, = training_versions_create(shop=pattern_shop, families=[Family.POPULARITY])

    def reaped_meanwhile(fraction: float, message: str) -> None:
        ModelVersion.objects.filter(pk=late.pk).update(status=ModelVersion.Status.FAILED, error="lease ran out")

    model_version_train(version=late, echo=reaped_meanwhile)

    late.refresh_from_db()
    assert late.status == ModelVersion.Status.FAILED and late.error == "lease ran out"
    assert active_version(shop=pattern_shop, family=Family.POPULARITY) == serving


@pytest.mark.django_db
def test_an_interrupted_run_ends_failed_at_once(pattern_shop, settings, tmp_path):
    settings.VITRINE_ARTIFACTS_DIR = tmp_path
    version, = training_versions_create(shop=pattern_shop, families=[Family.POPULARITY])

    def interrupt(fraction: float, message: str) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        model_version_train(version=version, echo=interrupt)

    version.refresh_from_db()
    assert version.status == ModelVersion.Status.FAILED and version.error == "The training process was interrupted."


# The training task stands in for itself: its process does the real claim, heartbeat and death; only the
# training is a silent phase as long as a slow evaluation, so that only the heartbeat says the run lives.
KILLABLE_RUN = """
import time
from recommender.models import ModelVersion
from recommender.services import model_version_train
from recommender.services.training import runs
runs._train = lambda version, device, report: time.sleep(600)
model_version_train(version=ModelVersion.objects.get(pk={pk}))
"""


def _test_database_url() -> str:
    database = connection.settings_dict
    credentials = quote(database["USER"]) + (f":{quote(database['PASSWORD'])}" if database.get("PASSWORD") else "")
    return f"postgres://{credentials}@{quote(database['HOST'], safe='')}:{database['PORT'] or 5432}/{database['NAME']}"


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_run_is_failed_once_its_lease_runs_out(shop_a, settings, tmp_path):
    settings.VITRINE_TRAIN_LEASE_S = LEASE_S
    serving = ModelVersion.objects.create(shop=shop_a, family=Family.MF, number=1, status=ModelVersion.Status.SUCCEEDED, is_active=True)
    version, = training_versions_create(shop=shop_a, families=[Family.MF])
    env = {
        **os.environ, "DATABASE_URL": _test_database_url(), "VITRINE_TRAIN_LEASE_S": str(LEASE_S), "VITRINE_TRAIN_DEVICE": "cpu",
    }
    log = (tmp_path / "worker.log").open("w")
    worker = subprocess.Popen(
        [sys.executable, "manage.py", "shell", "-c", KILLABLE_RUN.format(pk=version.pk)],
        cwd=Path(django_settings.BASE_DIR), env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        running = wait_for(lambda: ModelVersion.objects.get(pk=version.pk).status == ModelVersion.Status.RUNNING, timeout=20)
        assert running, (tmp_path / "worker.log").read_text()
        time.sleep(2 * LEASE_S)  # silent, and alive, longer than the lease
        assert training_runs_reap_stale() == 0
        version.refresh_from_db()
        assert version.heartbeat_at - version.started_at > timedelta(seconds=LEASE_S)

        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
        killed_at = time.monotonic()
        assert wait_for(lambda: training_runs_reap_stale() == 1, timeout=LEASE_S + 5)
        assert time.monotonic() - killed_at <= LEASE_S + 1
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
        log.close()

    version.refresh_from_db()
    assert version.status == ModelVersion.Status.FAILED and "nothing heard from it" in version.error
    assert active_version(shop=shop_a, family=Family.MF) == serving


# Trained once


@pytest.mark.django_db
def test_a_redelivered_task_for_a_run_another_worker_claimed_does_nothing(pattern_shop, settings, tmp_path):
    settings.VITRINE_ARTIFACTS_DIR = tmp_path
    version, = training_versions_create(shop=pattern_shop, families=[Family.POPULARITY])
    claimed_at = timezone.now() - timedelta(seconds=30)
    ModelVersion.objects.filter(pk=version.pk).update(
        status=ModelVersion.Status.RUNNING, started_at=claimed_at, heartbeat_at=claimed_at, device="cuda:0"
    )

    train_model_version_task.apply(args=[version.pk])
    model_version_train(version=version)  # a copy read while it was still queued: the claim refuses it

    version.refresh_from_db()
    assert version.status == ModelVersion.Status.RUNNING
    assert version.started_at == claimed_at and version.device == "cuda:0" and version.progress == 0.0
    assert not any(tmp_path.iterdir())  # nothing was trained


@pytest.mark.django_db
def test_a_task_delivered_twice_trains_once(pattern_shop, settings, tmp_path):
    settings.VITRINE_ARTIFACTS_DIR = tmp_path
    version, = training_versions_create(shop=pattern_shop, families=[Family.POPULARITY])

    train_model_version_task.apply(args=[version.pk])
    version.refresh_from_db()
    first_finish = version.finished_at
    train_model_version_task.apply(args=[version.pk])

    version.refresh_from_db()
    assert version.status == ModelVersion.Status.SUCCEEDED and version.is_active
    assert version.finished_at == first_finish


def test_a_message_is_handed_to_another_worker_only_after_the_longest_training_task_could_have_ended():
    # A training task acknowledges its message when it ends: redelivered sooner, a long run would run twice.
    assert train_model_version_task.acks_late
    assert app.conf.broker_transport_options["visibility_timeout"] > train_model_version_task.time_limit


def test_the_reaper_runs_every_minute_on_the_default_queue_and_expires_before_the_next():
    entry = app.conf.beat_schedule["reap-dead-training-runs"]
    assert entry["task"] in app.tasks
    assert entry["schedule"].minute == set(range(60)) and entry["options"]["expires"] < 60
    assert app.amqp.router.route({}, entry["task"])["queue"].name == Queue.DEFAULT


# One run in flight per family and shop


@pytest.mark.django_db
def test_a_second_run_of_a_family_in_flight_is_refused_and_queues_nothing(shop_a, shop_b):
    first, = training_dispatch(shop=shop_a, families=[Family.MF])

    with pytest.raises(TrainingError, match=rf"^Matrix factorization is already queued \(v{first.number}\); train it again once that run ends\.$"):
        training_dispatch(shop=shop_a, families=[Family.POPULARITY, Family.MF])
    ModelVersion.objects.filter(pk=first.pk).update(status=ModelVersion.Status.RUNNING)
    with pytest.raises(TrainingError, match="is already running"):
        training_dispatch(shop=shop_a, families=[Family.MF])

    assert list(ModelVersion.objects.filter(shop=shop_a)) == [first]
    # Another shop, another family, or the same family once its run ended: all train.
    assert training_dispatch(shop=shop_b, families=[Family.MF])
    assert training_dispatch(shop=shop_a, families=[Family.POPULARITY])
    ModelVersion.objects.filter(pk=first.pk).update(status=ModelVersion.Status.FAILED)
    assert training_dispatch(shop=shop_a, families=[Family.MF])


@pytest.mark.django_db
def test_the_database_holds_one_run_in_flight_per_family_and_shop(shop_a):
    ModelVersion.objects.create(shop=shop_a, family=Family.MF, number=1)
    for number, status in enumerate(ModelVersion.IN_FLIGHT, start=2):
        with pytest.raises(IntegrityError, match="one_run_in_flight_per_family"), transaction.atomic():
            ModelVersion.objects.create(shop=shop_a, family=Family.MF, number=number, status=status)
    for number, status in enumerate((ModelVersion.Status.SUCCEEDED, ModelVersion.Status.FAILED), start=2):
        ModelVersion.objects.create(shop=shop_a, family=Family.MF, number=number, status=status)


@pytest.mark.django_db(transaction=True)
def test_two_processes_pressing_train_at_once_queue_one_run(shop_a):
    inserted, release = threading.Event(), threading.Event()
    other = []

    def other_process() -> None:
        try:
            with transaction.atomic():
                other.append(ModelVersion.objects.create(shop=shop_a, family=Family.MF, number=1))
                inserted.set()
                release.wait(10)
        finally:
            connection.close()

    thread = threading.Thread(target=other_process)
    thread.start()
    assert inserted.wait(10)
    # The other run is not committed yet: the check before the insert cannot see it, the unique index waits for it.
    threading.Timer(0.5, release.set).start()
    try:
        with pytest.raises(TrainingError, match=r"Matrix factorization is already queued \(v1\)"):
            training_dispatch(shop=shop_a, families=[Family.MF])
    finally:
        release.set()
        thread.join()

    assert list(ModelVersion.objects.filter(shop=shop_a)) == other


@pytest.mark.django_db
def test_the_nightly_schedule_leaves_out_the_families_already_in_flight(shop_a):
    running = _in_flight(shop_a, Family.MF, started_ago=timedelta(minutes=1), heard_ago=timedelta(seconds=1))

    train_scheduled_task.apply()

    queued = ModelVersion.objects.filter(shop=shop_a, status=ModelVersion.Status.QUEUED)
    assert sorted(queued.values_list("family", flat=True)) == sorted([Family.POPULARITY, Family.TEXT, Family.SEQUENTIAL])
    assert list(ModelVersion.objects.filter(shop=shop_a, family=Family.MF)) == [running]


@pytest.mark.django_db
def test_the_train_command_prints_why_it_refuses_a_family_in_flight(shop_a):
    running = _in_flight(shop_a, Family.MF, started_ago=timedelta(minutes=1), heard_ago=timedelta(seconds=1))

    with pytest.raises(CommandError, match=rf"Matrix factorization is already running \(v{running.number}\)"):
        call_command("train", "--shop", shop_a.slug, "--family", Family.MF)

    assert ModelVersion.objects.filter(shop=shop_a).count() == 1


@pytest.mark.django_db
def test_the_train_command_leaves_no_run_queued_when_it_stops_part_way(shop_a, monkeypatch):
    def interrupted(*, version, **kwargs):
        raise KeyboardInterrupt

    # The first run is cut short by Ctrl-C; the families after it were queued for this command alone.
    monkeypatch.setattr("recommender.management.commands.train.model_version_train", interrupted)
    with pytest.raises(KeyboardInterrupt):
        call_command("train", "--shop", shop_a.slug, "--family", Family.POPULARITY, "--family", Family.MF)

    assert not ModelVersion.objects.filter(shop=shop_a, status__in=ModelVersion.IN_FLIGHT).exists()
    assert set(ModelVersion.objects.values_list("error", flat=True)) == {"The train command stopped before this run started."}
