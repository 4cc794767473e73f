"""Periodic work, in one place. Crontab entries with an expiry: a missed run is skipped, not piled up."""

from celery.schedules import crontab

from .env import env_int


def beat_schedule() -> dict:
    return {
        "retrain-every-family": {
            "task": "recommender.tasks.train_scheduled_task",
            "schedule": crontab(hour=env_int("VITRINE_RETRAIN_HOUR", 3), minute=0),
            "options": {"expires": 3600},
        },
        # Runs whose process died are failed within a minute of their lease running out.
        "reap-dead-training-runs": {
            "task": "recommender.tasks.training_runs_reap_task",
            "schedule": crontab(minute="*"),
            "options": {"expires": 50},
        },
        # Catalog snapshots read item deletions from rows kept a while (catalog.services.REMOVALS_KEPT).
        "prune-item-removals": {
            "task": "catalog.tasks.item_removals_prune_task",
            "schedule": crontab(minute=20),
            "options": {"expires": 3000},
        },
        # A large shop's approximate vector index is built again once its vectors changed (recommender.services.vector_index).
        "refresh-vector-indexes": {
            "task": "recommender.tasks.vector_indexes_refresh_task",
            "schedule": crontab(minute="*/15"),
            "options": {"expires": 840},
        },
        # Pages served wait in Redis until this moves them into the rollups (homepage.rollups).
        "flush-pages-served": {
            "task": "homepage.tasks.rollup_pages_flush_task",
            "schedule": crontab(minute="*"),
            "options": {"expires": 50},
        },
        # Bandit experiments move their traffic toward the better variants once an hour.
        "reallocate-bandit-experiments": {
            "task": "merchandising.tasks.bandits_reallocate_task",
            "schedule": crontab(minute=5),
            "options": {"expires": 3000},
        },
        # As often as a cached page lives (homepage.cache.PAGE_SECONDS).
        "precompute-homepages": {
            "task": "homepage.tasks.homepages_scheduled_task",
            "schedule": crontab(minute="*/10"),
            "options": {"expires": 540},
        },
    }
