"""Training the shops' models: queue a version per family, run its training within a lease, report its progress,
and promote it or hold it back for a person."""

from .errors import TrainingError
from .gate import encoder_held_back
from .lease import training_runs_reap_stale
from .progress import PHASE_SHARES, seconds_left
from .queueing import QUEUE_UNREACHABLE, encoder_dependents_dispatch, training_dispatch, training_versions_abandon
from .runs import model_version_train
from .versions import training_versions_create

__all__ = [
    "PHASE_SHARES",
    "QUEUE_UNREACHABLE",
    "TrainingError",
    "encoder_dependents_dispatch",
    "encoder_held_back",
    "model_version_train",
    "seconds_left",
    "training_dispatch",
    "training_runs_reap_stale",
    "training_versions_abandon",
    "training_versions_create",
]
