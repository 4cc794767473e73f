"""Signals the recommender sends to the apps that follow it, which it knows nothing of."""

from django.dispatch import Signal

# A version began to serve outside the console, which logs its own: by the admin's promote action (actor: the
# admin), or by its training run, which beat the serving one by the margin (actor: None). Sent with version,
# serving_before (the version it replaced, or None) and actor.
version_promoted = Signal()
# A version began to serve, however it came to (version_promote): sent with `version`. The recommender's own
# receivers retrain the families that read a new encoder's vectors.
version_serving = Signal()
