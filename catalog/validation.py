"""Validation of storefront records, one record at a time, so a batch can keep its valid records.

Plain functions rather than DRF serializers: a batch of 1,000 events is checked in a few
milliseconds, and each error names the field and what to send instead.
"""

import math
from datetime import datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from urllib.parse import urlparse

from .models import CATEGORY_SEPARATOR, EventType

EVENT_FIELDS = frozenset(
    {"event_id", "shopper_id", "item_id", "type", "occurred_at", "value", "query", "session_id", "context"}
)
ITEM_FIELDS = frozenset(
    {"item_id", "title", "description", "category", "brand", "price", "currency", "image_url", "available", "attributes"}
)
EVENT_TYPES = frozenset(EventType.values)
MAX_CLOCK_SKEW = timedelta(days=1)


NUL_MESSAGE = "Must not contain NUL (\\u0000) characters."


def _has_nul(value) -> bool:
    # PostgreSQL cannot store NUL in text or JSON; it is refused here rather than failing the batch.
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(key) or _has_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_has_nul(item) for item in value)
    return False


class RecordInvalid(Exception):
    def __init__(self, errors: dict[str, str]):
        super().__init__(errors)
        self.errors = errors


def _identifier(record: dict, field: str, errors: dict, *, required: bool = True) -> str:
    value = record.get(field)
    if value is None or value == "":
        if required:
            errors[field] = "This field is required."
        return ""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        errors[field] = "Must be a string (or an integer) id."
        return ""
    text = str(value).strip()
    if not text or len(text) > 128:
        errors[field] = "Must be 1 to 128 characters."
    elif _has_nul(text):
        errors[field] = NUL_MESSAGE
    return text


def _text(record: dict, field: str, errors: dict, *, max_length: int, required: bool = False) -> str:
    value = record.get(field)
    if value is None:
        if required:
            errors[field] = "This field is required."
        return ""
    if not isinstance(value, str):
        errors[field] = "Must be a string."
        return ""
    value = value.strip()
    if required and not value:
        errors[field] = "Must not be blank."
    elif _has_nul(value):
        errors[field] = NUL_MESSAGE
    elif len(value) > max_length:
        errors[field] = f"Must be at most {max_length} characters (got {len(value)})."
    return value


def _object(record: dict, field: str, errors: dict) -> dict:
    value = record.get(field)
    if value is None:
        return {}
    if not isinstance(value, dict):
        errors[field] = "Must be a JSON object."
        return {}
    if _has_nul(value):
        errors[field] = NUL_MESSAGE
    return value


def _unknown_fields(record: dict, allowed: frozenset, errors: dict) -> None:
    for field in sorted(set(record) - allowed):
        errors[field] = f"Unknown field; expected some of: {', '.join(sorted(allowed))}."


def parse_timestamp(value, *, now: datetime) -> datetime:
    """ISO 8601 to an aware datetime; a timestamp without offset is taken as UTC."""
    if not isinstance(value, str):
        raise ValueError("Must be an ISO 8601 string, e.g. 2026-11-23T09:30:00Z.")
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"'{value}' is not ISO 8601; send e.g. 2026-11-23T09:30:00Z.") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    if moment > now + MAX_CLOCK_SKEW:
        raise ValueError("Lies more than a day in the future; check the storefront's clock and time zone.")
    return moment


def event_clean(record, *, now: datetime) -> dict:
    """A storefront event, checked and normalised; raises RecordInvalid naming each bad field."""
    if not isinstance(record, dict):
        raise RecordInvalid({"event": "Each event must be a JSON object."})
    errors: dict[str, str] = {}
    _unknown_fields(record, EVENT_FIELDS, errors)
    event_type = record.get("type")
    if event_type not in EVENT_TYPES:
        errors["type"] = f"Must be one of: {', '.join(sorted(EVENT_TYPES))}."
    is_search = event_type == EventType.SEARCH
    cleaned = {
        "event_id": _identifier(record, "event_id", errors),
        "shopper_id": _identifier(record, "shopper_id", errors),
        "item_id": _identifier(record, "item_id", errors, required=not is_search),
        "type": event_type,
        "query": _text(record, "query", errors, max_length=500, required=is_search),
        "session_id": _text(record, "session_id", errors, max_length=128),
        "context": _object(record, "context", errors),
        "value": None,
        "occurred_at": None,
    }
    value = record.get("value")
    if value is not None:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            errors["value"] = "Must be a finite number (a rating or a quantity)."
        else:
            cleaned["value"] = float(value)
    if record.get("occurred_at") is None:
        errors["occurred_at"] = "This field is required."
    else:
        try:
            cleaned["occurred_at"] = parse_timestamp(record["occurred_at"], now=now)
        except ValueError as error:
            errors["occurred_at"] = str(error)
    if errors:
        raise RecordInvalid(errors)
    return cleaned


def _category(record: dict, errors: dict) -> str:
    path = _text(record, "category", errors, max_length=500)
    return CATEGORY_SEPARATOR.join(part.strip() for part in path.split(">") if part.strip())


def _price(record: dict, errors: dict) -> Decimal | None:
    value = record.get("price")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        errors["price"] = "Must be a number, e.g. 19.99."
        return None
    try:
        price = Decimal(str(value))
    except InvalidOperation:
        errors["price"] = f"'{value}' is not a number."
        return None
    if not price.is_finite() or price < 0 or price >= Decimal("1e10"):
        errors["price"] = "Must be a non-negative number below 10,000,000,000."
        return None
    return price.quantize(Decimal("0.01"))


def _image_url(record: dict, errors: dict) -> str:
    url = _text(record, "image_url", errors, max_length=1000)
    if url and (urlparse(url).scheme not in {"http", "https"} or not urlparse(url).netloc):
        errors["image_url"] = "Must be an absolute http(s) URL."
    return url


def item_clean(record) -> dict:
    """A catalog item, checked and normalised; raises RecordInvalid naming each bad field."""
    if not isinstance(record, dict):
        raise RecordInvalid({"item": "Each item must be a JSON object."})
    errors: dict[str, str] = {}
    _unknown_fields(record, ITEM_FIELDS, errors)
    currency = _text(record, "currency", errors, max_length=3).upper()
    if currency and (len(currency) != 3 or not currency.isalpha()):
        errors["currency"] = "Must be a three-letter ISO 4217 code, e.g. EUR."
    available = record.get("available", True)
    if not isinstance(available, bool):
        errors["available"] = "Must be true or false."
    cleaned = {
        "external_id": _identifier(record, "item_id", errors),
        "title": _text(record, "title", errors, max_length=1000, required=True),
        "description": _text(record, "description", errors, max_length=20000),
        "category_path": _category(record, errors),
        "brand": _text(record, "brand", errors, max_length=200),
        "price": _price(record, errors),
        "currency": currency,
        "image_url": _image_url(record, errors),
        "available": available,
        "attributes": _object(record, "attributes", errors),
    }
    if errors:
        raise RecordInvalid(errors)
    return cleaned
