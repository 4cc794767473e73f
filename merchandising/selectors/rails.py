"""The Rails and Pins pages."""

from datetime import datetime, timedelta

from django.db.models import Q
from django.utils.text import slugify

from catalog.models import Shop

from ..models import Pin, Rail


PINS_ENDED_SHOWN_DAYS = 30


def console_rails(*, shop: Shop) -> list[Rail]:
    """Every rail of the shop, disabled ones too, in page order."""
    return list(Rail.objects.filter(shop=shop).select_related("campaign").order_by("position", "pk"))


def pins_listed(*, shop: Shop, now: datetime) -> list[Pin]:
    """The shop's live and scheduled pins, and those ended lately, by rail in page order then slot."""
    recent = Q(ends_at__isnull=True) | Q(ends_at__gt=now - timedelta(days=PINS_ENDED_SHOWN_DAYS))
    pins = Pin.objects.filter(recent, rail__shop=shop).select_related("rail", "item", "campaign")
    return list(pins.order_by("rail__position", "rail__pk", "slot", "starts_at", "pk"))


def rail_key_free(*, shop: Shop, name: str) -> str:
    """A rail key made from a name (slugified), with -2, -3… where the shop already uses it."""
    base = slugify(name)[:56].strip("-") or "campaign"
    taken = set(Rail.objects.filter(shop=shop, key__startswith=base).values_list("key", flat=True))
    key, number = base, 2
    while key in taken:
        key, number = f"{base}-{number}", number + 1
    return key
