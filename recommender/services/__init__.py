from .candidates import candidates_for
from .embeddings import item_embeddings_refresh, item_embeddings_write_through, query_embeddings_write
from .profiles import shopper_profile_refresh
from .registry import version_promote, version_rollback
from .training import (
    TrainingError,
    model_version_train,
    training_dispatch,
    training_runs_reap_stale,
    training_versions_abandon,
    training_versions_create,
)
from .vector_index import vector_indexes_refresh

__all__ = [
    "TrainingError",
    "candidates_for",
    "item_embeddings_refresh",
    "item_embeddings_write_through",
    "model_version_train",
    "query_embeddings_write",
    "shopper_profile_refresh",
    "training_dispatch",
    "training_runs_reap_stale",
    "training_versions_abandon",
    "training_versions_create",
    "version_promote",
    "vector_indexes_refresh",
    "version_promote",
    "version_rollback",
]
