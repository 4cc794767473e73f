"""Signals the recommender sends to the apps that follow it, which it knows nothing of."""

from django.dispatch import Signal

# A person made a version serve from outside the console (the admin's promote action), which logs its own:
# sent with version, serving_before (the version it replaced, or None) and actor.
version_promoted = Signal()
