"""A running version's progress: its phases' shares of the bar, the time it should still take, and its row's report."""

import time
from collections.abc import Callable
from datetime import timedelta

from django.utils import timezone

from ...models import ModelVersion
from .families import TEXT_FAMILIES

Progress = Callable[[float, str], None]
PROGRESS_EVERY_S = 1.0
Phase = ModelVersion.Phase
# Shares of the progress bar, in the order a run goes through them, by where its time usually goes.
PHASE_SHARES = {
    Phase.LOADING: 0.05, Phase.BUILDING: 0.05, Phase.TRAINING: 0.65, Phase.EVALUATING: 0.2, Phase.SAVING: 0.03, Phase.PUBLISHING: 0.02,
}
# The text and sequential families embed every item (new or changed) while they build their data.
TEXT_PHASE_SHARES = {**PHASE_SHARES, Phase.BUILDING: 0.25, Phase.TRAINING: 0.45}
# No estimate of the time left before the run, or its phase, has gone this long and this far: a first
# second says little of the pace.
ESTIMATE_AFTER_S = 2.0
ESTIMATE_AFTER_FRACTION = 0.05


def seconds_left(
    *, elapsed_s: float, overall: float, phase_elapsed_s: float, phase_fraction: float, phase_share: float, later_share: float
) -> float | None:
    """How long a run should still take: the rest of its phase at the phase's own pace, the phases after it
    at the pace of the whole run so far. None while too little has happened to tell."""
    if elapsed_s < ESTIMATE_AFTER_S or overall < ESTIMATE_AFTER_FRACTION:
        return None
    run_pace_s = elapsed_s / overall  # seconds per whole bar
    if phase_elapsed_s >= ESTIMATE_AFTER_S and phase_fraction >= ESTIMATE_AFTER_FRACTION:
        phase_left_s = phase_elapsed_s * (1 - phase_fraction) / phase_fraction
    else:
        phase_left_s = run_pace_s * phase_share * (1 - phase_fraction)
    return phase_left_s + run_pace_s * later_share


class RunProgress:
    """Where a running version is: its phase, how far through it, and when it should end, on its row.

    Each phase is a fixed share of the bar; `enter` starts the next one and returns its reporter,
    called with (fraction of the phase done, what it is doing).
    """

    def __init__(self, version: ModelVersion, echo: Progress) -> None:
        self.version, self.echo = version, echo
        self.shares = TEXT_PHASE_SHARES if version.family in TEXT_FAMILIES else PHASE_SHARES
        self.started = time.monotonic()
        self.phase, self.phase_started, self.written = "", self.started, -PROGRESS_EVERY_S

    def enter(self, phase: str) -> Progress:
        self.phase, self.phase_started = phase, time.monotonic()
        self.report(0.0, "")
        return self.report

    def report(self, fraction: float, message: str) -> None:
        fraction = min(max(fraction, 0.0), 1.0)
        phases = list(self.shares)
        position = phases.index(self.phase)
        overall = sum(self.shares[phase] for phase in phases[:position]) + self.shares[self.phase] * fraction
        label = ModelVersion.Phase(self.phase).label
        self.echo(overall, f"{label.lower()}: {message}" if message else label.lower())
        now = time.monotonic()
        # A new phase and a phase's end are always written; the steps between, once a second at most.
        if now - self.written < PROGRESS_EVERY_S and 0.0 < fraction < 1.0:
            return
        self.written = now
        left_s = seconds_left(
            elapsed_s=now - self.started, overall=overall, phase_elapsed_s=now - self.phase_started, phase_fraction=fraction,
            phase_share=self.shares[self.phase], later_share=sum(self.shares[phase] for phase in phases[position + 1 :]),
        )
        wall = timezone.now()
        ModelVersion.objects.filter(pk=self.version.pk, status=ModelVersion.Status.RUNNING).update(
            progress=overall, progress_phase=self.phase, progress_message=message[:300], heartbeat_at=wall,
            progress_done_at=None if left_s is None else wall + timedelta(seconds=left_s),
        )
