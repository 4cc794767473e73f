"""Which model families each part of training concerns."""

from ...models import Family

# The families that read the serving encoder's item vectors, in training order.
TEXT_FAMILIES = [Family.TEXT, Family.SEQUENTIAL]
# What the nightly schedule and a new shop train. The encoder fine-tune is asked for by name (the console,
# `train --family finetuned_text`, `evaluate`): within a CPU's time limit it does not yet beat MiniLM.
SCHEDULED_FAMILIES = [family for family in Family.values if family != Family.FINETUNED_TEXT]
# The families whose training is bounded by the device's time limit.
TIME_BOUNDED_FAMILIES = {Family.SEQUENTIAL, Family.FINETUNED_TEXT}
