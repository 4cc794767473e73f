"""Which experiment arm a shopper's page is composed for. The homepage serves arms without knowing how they are
assigned: the app that runs experiments (merchandising.experiments) registers its assignment here when it is
ready, and with none registered every shopper gets the live page.
"""

from collections.abc import Callable
from typing import Protocol

from catalog.models import Shop

from .rulebook import Rulebook


class Arm(Protocol):
    """One variant of one running experiment, as a page is composed and cached for it."""

    experiment: object  # its `pk` and `shop` are read
    variant: object  # its `key` and `model_version` are read

    @property
    def cache_label(self) -> str: ...

    @property
    def personalized(self) -> bool: ...

    @property
    def rules(self) -> Rulebook | None: ...


ArmResolver = Callable[..., Arm | None]  # (shop=, shopper_external_id=, token=) -> the arm, or None
_resolver: ArmResolver | None = None


def arm_resolver_set(resolver: ArmResolver) -> None:
    global _resolver
    _resolver = resolver


def shopper_arm(*, shop: Shop, shopper_external_id: str, token: str | None = None) -> Arm | None:
    """The arm this shopper is served (`token`: the shop's rules token when the caller has read it), or None."""
    if _resolver is None:
        return None
    return _resolver(shop=shop, shopper_external_id=shopper_external_id, token=token)
