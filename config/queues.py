from enum import StrEnum


class Queue(StrEnum):
    """Celery queues: `train` runs on GPU workers when there are any; the others on CPU workers."""

    DEFAULT = "default"
    SCORE = "score"
    TRAIN = "train"
