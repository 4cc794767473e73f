"""Which variant an event counts for: the shop's experiments that have run, each with its slice under every
allocation it has had, and the variant a shopper was assigned among those running at an event's time."""

from bisect import bisect_right
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from catalog.models import Shop
from homepage.cache import ProcessCopies, rules_token

from ..assignment import TrafficSlice, assign, variant_shares
from ..models import Allocation, Experiment, Variant


@dataclass(frozen=True)
class _Started:
    """An experiment that has run, as assignment needs it: its slice under each allocation it has had (from
    when on), and its variants' keys in share order."""

    experiment: Experiment
    slices: tuple[tuple[datetime, TrafficSlice], ...]
    variant_keys: tuple[str, ...]

    def running_at(self, at: datetime) -> bool:
        return self.experiment.started_at <= at and (self.experiment.ended_at is None or at < self.experiment.ended_at)

    def slice_at(self, at: datetime) -> TrafficSlice:
        """The slice whose shares placed shoppers at `at`: the latest allocation from before it, else the first."""
        index = bisect_right([since for since, _ in self.slices], at) - 1
        return self.slices[max(index, 0)][1]


def _slices(experiment: Experiment, variants: list[Variant], allocations: list[Allocation]) -> tuple[tuple[datetime, TrafficSlice], ...]:
    def at(shares: tuple[float, ...]) -> TrafficSlice:
        return TrafficSlice(
            experiment_id=experiment.pk, offset=experiment.traffic_offset, share=experiment.traffic_share, variant_shares=shares,
        )

    if not allocations:  # started before allocations were recorded: its shares never moved
        return ((experiment.started_at, at(variant_shares(variants, None))),)
    return tuple((allocation.since, at(variant_shares(variants, allocation))) for allocation in allocations)


def _started(shop: Shop) -> list[_Started]:
    experiments = list(
        Experiment.objects.filter(shop=shop, started_at__isnull=False, traffic_offset__isnull=False).order_by("traffic_offset", "pk")
    )
    if not experiments:
        return []
    variants: dict[int, list[Variant]] = defaultdict(list)
    # In pk order, as assignment serves them.
    for variant in Variant.objects.filter(experiment__in=experiments).order_by("pk"):
        variants[variant.experiment_id].append(variant)
    allocations: dict[int, list[Allocation]] = defaultdict(list)
    for allocation in Allocation.objects.filter(experiment__in=experiments).order_by("since"):
        allocations[allocation.experiment_id].append(allocation)
    return [
        _Started(
            experiment=experiment,
            slices=_slices(experiment, variants[experiment.pk], allocations[experiment.pk]),
            variant_keys=tuple(variant.key for variant in variants[experiment.pk]),
        )
        for experiment in experiments
        if variants[experiment.pk]
    ]


_started_copies = ProcessCopies()


def started_experiments(shop: Shop) -> list[_Started]:
    """`_started(shop)`, read once per process and rules token: every stored batch asks, and starting, stopping,
    reallocating or deleting an experiment replaces the token."""
    return _started_copies.get(shop, rules_token(shop=shop), lambda: _started(shop))


def _arm_at(shop: Shop, started: list[_Started], shopper_external_id: str, at: datetime) -> tuple[_Started, str] | None:
    running = [one for one in started if one.running_at(at)]
    found = assign(shop_id=shop.pk, shopper_external_id=shopper_external_id, slices=[one.slice_at(at) for one in running])
    if found is None:
        return None
    experiment_id, index = found
    placed = next(one for one in running if one.experiment.pk == experiment_id)
    return placed, placed.variant_keys[index]
