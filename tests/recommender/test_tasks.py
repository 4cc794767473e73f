import time

import pytest
from celery.contrib.testing.worker import start_worker
from django.core.management import call_command

from config.celery import app
from config.queues import Queue
from recommender.models import Family, ModelVersion
from recommender.services import training_dispatch


@pytest.mark.django_db(transaction=True)
def test_a_training_run_goes_through_the_train_queue_to_a_real_worker(pattern_shop, settings, tmp_path):
    settings.VITRINE_ARTIFACTS_DIR = tmp_path
    version, = training_dispatch(shop=pattern_shop, families=[Family.POPULARITY])

    with start_worker(app, pool="solo", perform_ping_check=False, queues=[Queue.TRAIN], shutdown_timeout=30):
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            version.refresh_from_db()
            if version.is_finished:
                break
            time.sleep(0.2)

    assert version.status == ModelVersion.Status.SUCCEEDED, version.error
    assert version.progress == 1.0
    assert version.is_active


@pytest.mark.django_db
def test_evaluate_prints_every_family_beside_popularity(pattern_shop, settings, tmp_path, capsys):
    settings.VITRINE_ARTIFACTS_DIR = tmp_path
    call_command("evaluate", "--shop", pattern_shop.slug, "--time-limit", "5")
    table = capsys.readouterr().out
    for family in Family.values:
        assert f"| {family} |" in table
    assert "× popularity" in table and "NDCG@10" in table
    assert "Shoppers known by one or two events" in table and "NDCG@10 2 events" in table
    cold_start = table[table.index("Cold start:"):]
    for model in ("| popularity |", "| frozen encoder |", "| fine-tuned encoder |"):
        assert model in cold_start
    assert not ModelVersion.objects.filter(is_active=True).exists()  # evaluate alone does not change what serves
