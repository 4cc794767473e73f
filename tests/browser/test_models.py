import pytest
from celery.contrib.testing.worker import start_worker
from playwright.sync_api import expect

from config.celery import app
from config.queues import Queue
from recommender.models import Family, ModelVersion

pytestmark = pytest.mark.browser


def test_a_training_run_started_in_the_console_shows_its_progress_until_it_serves(console, pattern_shop, settings, tmp_path):
    settings.VITRINE_ARTIFACTS_DIR = tmp_path
    console.goto("/console/models/")
    popularity = console.get_by_test_id(f"family-{Family.POPULARITY}")
    expect(popularity).to_contain_text("Never trained.")

    # The worker of the train queue runs in this process, as `make worker` would beside the web server.
    with start_worker(app, pool="solo", perform_ping_check=False, queues=[Queue.TRAIN], shutdown_timeout=30):
        popularity.get_by_test_id("train-now").click()
        progress = popularity.get_by_test_id("training-progress")
        expect(progress).to_be_visible()  # swapped in by htmx: the run is queued, the bar polls every second
        expect(popularity.get_by_test_id("training-status")).to_have_text("succeeded", timeout=60_000)

    expect(progress).to_have_attribute("value", "1.000")
    expect(console.locator(f"#run-{Family.POPULARITY}")).not_to_have_attribute("hx-trigger", "every 1s")  # polling stops
    version = ModelVersion.objects.get(shop=pattern_shop, family=Family.POPULARITY)
    assert version.is_active
    expect(popularity.get_by_test_id("serving-version")).to_contain_text("Serving v1")
    expect(popularity.get_by_test_id("version-row")).to_have_attribute("data-version", str(version.pk))
