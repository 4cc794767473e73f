"""Validation of storefront records, one record at a time, so a batch can keep its valid records.

Plain functions rather than DRF serializers: a batch of 1,000 events is checked in a few
milliseconds, and each error names the field and what to send instead. Every field has a type, a
range and a size (README "The storefront API"), and no text reaches PostgreSQL that it cannot store.
"""

import json
import math
import re
from datetime import datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from urllib.parse import urlparse

from django.conf import settings

from .models import CATEGORY_SEPARATOR, EventType

EVENT_FIELDS = frozenset(
    {"event_id", "shopper_id", "item_id", "type", "occurred_at", "value", "query", "session_id", "context"}
)
ITEM_FIELDS = frozenset(
    {"item_id", "title", "description", "category", "brand", "price", "currency", "image_url", "available", "attributes"}
)
EVENT_TYPES = frozenset(EventType.values)
# The longest text each field keeps, in characters (currency is a three-letter code).
ITEM_TEXT_MAX = {"title": 1000, "description": 20000, "category": 500, "brand": 200, "image_url": 1000}
EVENT_TEXT_MAX = {"query": 500, "session_id": 128}

# Ids travel in URL paths and cache keys: no spaces, no '/', nothing that needs escaping.
ID_MAX_LENGTH = 128
ID_PATTERN = re.compile(f"[A-Za-z0-9_.:@-]{{1,{ID_MAX_LENGTH}}}")
ID_RULE = f"1 to {ID_MAX_LENGTH} letters (A-Z, a-z), digits or - _ . : @"
# Free-form objects (event context, item attributes) are stored whole as JSON and read on every page.
MAX_JSON_DEPTH = 10
MAX_JSON_BYTES = 16 * 1024
# Values of events other than ratings are quantities.
MAX_QUANTITY = 1_000_000
MAX_PRICE = Decimal("9999999999.99")
# PostgreSQL stores neither NUL nor an unpaired surrogate, which is not text at all.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_SHOWN_LENGTH = 140
# Enough to say what is wrong without echoing a record made of thousands of unknown keys.
_UNKNOWN_FIELDS_REPORTED = 10


class RecordInvalid(Exception):
    def __init__(self, errors: dict[str, str]):
        super().__init__(errors)
        self.errors = errors


def shown(text: str) -> str:
    """`text` as an answer may echo it: unpaired surrogates written as escapes, and cut short."""
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text if len(text) <= _SHOWN_LENGTH else f"{text[:_SHOWN_LENGTH]}…"


def unstorable(text: str) -> str | None:
    """Why PostgreSQL cannot store `text`, or None when it can."""
    found = _UNSTORABLE.search(text)
    if found is None:
        return None
    if found.group() == "\x00":
        return "Contains a NUL character (\\u0000), which PostgreSQL cannot store."
    return f"Contains an unpaired surrogate (\\u{ord(found.group()):04x}), which is not valid Unicode text."


def identifier_problem(text: str) -> str | None:
    """Why `text` is not a storefront id (item, shopper, event; also rail keys), or None when it is one."""
    problem = unstorable(text)
    if problem:
        return problem
    if not text or len(text) > ID_MAX_LENGTH:
        return f"Must be 1 to {ID_MAX_LENGTH} characters (got {len(text)})."
    if not ID_PATTERN.fullmatch(text):
        return f"'{shown(text)}' is not an id: use {ID_RULE}, with no spaces or '/'."
    return None


def record_id(record, key: str) -> str | None:
    """The id a rejected record is listed under: as sent, in a form the answer can carry."""
    value = record.get(key) if isinstance(record, dict) else None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return None
    return shown(str(value))


def _identifier(record: dict, field: str, errors: dict, *, required: bool = True) -> str:
    value = record.get(field)
    if value is None or value == "":
        if required:
            errors[field] = "This field is required."
        return ""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        errors[field] = "Must be a string (or an integer) id."
        return ""
    text = str(value)
    problem = identifier_problem(text)
    if problem:
        errors[field] = problem
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
    problem = unstorable(value)
    if required and not value:
        errors[field] = "Must not be blank."
    elif problem:
        errors[field] = problem
    elif len(value) > max_length:
        errors[field] = f"Must be at most {max_length} characters (got {len(value)})."
    return value


def free_form_problem(value: dict) -> str | None:
    """Why a free-form object cannot be stored, or None: nested too deep, text PostgreSQL cannot
    store in a key or a value, a number out of range, or too large. Walked without recursion: the parser accepts nesting
    deep enough to exhaust Python's stack."""
    pending: list[tuple[object, int, str]] = [(value, 1, "")]
    while pending:
        node, depth, where = pending.pop()
        if isinstance(node, str):
            problem = unstorable(node)
            if problem:
                return f"The value at '{shown(where)}': {problem}"
        elif isinstance(node, float) and not math.isfinite(node):
            # JSON has no Infinity: Python reads 1e400 as one, and PostgreSQL would refuse the object.
            return f"The value at '{shown(where)}' is too large a number."
        elif isinstance(node, (dict, list)):
            if depth > MAX_JSON_DEPTH:
                return f"Nested deeper than {MAX_JSON_DEPTH} levels (at '{shown(where)}')."
            if isinstance(node, list):
                pending.extend((child, depth + 1, f"{where}[{index}]") for index, child in enumerate(node))
                continue
            for key, child in node.items():
                path = f"{where}.{key}" if where else key
                problem = unstorable(key)
                if problem:
                    return f"The key '{shown(path)}': {problem}"
                pending.append((child, depth + 1, path))
    size = len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))
    if size > MAX_JSON_BYTES:
        return f"Is {size} bytes as JSON; at most {MAX_JSON_BYTES} are stored."
    return None


def _object(record: dict, field: str, errors: dict) -> dict:
    value = record.get(field)
    if value is None:
        return {}
    if not isinstance(value, dict):
        errors[field] = "Must be a JSON object."
        return {}
    problem = free_form_problem(value)
    if problem:
        errors[field] = problem
        return {}
    return value


def _context_rail(context: dict, errors: dict) -> str:
    """The key of the rail the event came from, if the context names one; the shop's own rails are the
    caller's to check (catalog.services), since this module reads no database."""
    rail = context.get("rail")
    if rail is None:
        return ""
    if not isinstance(rail, str) or not rail:
        errors["context.rail"] = "Must be a rail key, a string: the homepage answer's rails[].key."
        return ""
    return rail


def _unknown_fields(record: dict, allowed: frozenset, errors: dict) -> None:
    unknown = sorted(set(record) - allowed)
    for field in unknown[:_UNKNOWN_FIELDS_REPORTED]:
        errors[shown(field)] = f"Unknown field; expected some of: {', '.join(sorted(allowed))}."
    if len(unknown) > _UNKNOWN_FIELDS_REPORTED:
        errors["more_unknown_fields"] = f"{len(unknown) - _UNKNOWN_FIELDS_REPORTED} more, not listed."


def timestamp_window(*, now: datetime) -> tuple[datetime, datetime]:
    """The earliest and latest `occurred_at` an event may have, as of `now`."""
    return settings.VITRINE_EVENT_EARLIEST, now + timedelta(hours=settings.VITRINE_MAX_CLOCK_SKEW_HOURS)


def parse_timestamp(value, *, now: datetime) -> datetime:
    """ISO 8601 to an aware datetime; a timestamp without offset is taken as UTC."""
    if not isinstance(value, str):
        raise ValueError("Must be an ISO 8601 string, e.g. 2026-11-23T09:30:00Z.")
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"'{shown(value)}' is not ISO 8601; send e.g. 2026-11-23T09:30:00Z.") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    earliest, latest = timestamp_window(now=now)
    if not earliest <= moment <= latest:
        raise ValueError(
            f"Must lie between {earliest:%Y-%m-%dT%H:%M:%SZ} and {latest:%Y-%m-%dT%H:%M:%SZ} "
            f"(now, plus {settings.VITRINE_MAX_CLOCK_SKEW_HOURS:g} h of clock skew into the future); "
            "check the storefront's clock and time zone."
        )
    return moment


def _event_value(record: dict, event_type, errors: dict) -> float | None:
    value = record.get("value")
    is_rating = event_type == EventType.RATING
    low, high = (settings.VITRINE_RATING_MIN, settings.VITRINE_RATING_MAX) if is_rating else (0, MAX_QUANTITY)
    expected = f"a rating from {low:g} to {high:g}" if is_rating else f"a quantity from 0 to {high:,}"
    if value is None:
        if is_rating:
            errors["value"] = f"A rating needs a value: {expected}."
        return None
    # Integers are compared as they are: one too large for a float would overflow a conversion.
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (low <= value <= high):
        errors["value"] = f"Must be {expected}."
        return None
    return float(value)


def event_clean(record, *, now: datetime) -> dict:
    """A storefront event, checked and normalised; raises RecordInvalid naming each bad field."""
    if not isinstance(record, dict):
        raise RecordInvalid({"event": "Each event must be a JSON object."})
    errors: dict[str, str] = {}
    _unknown_fields(record, EVENT_FIELDS, errors)
    event_type = record.get("type")
    if not isinstance(event_type, str) or event_type not in EVENT_TYPES:
        errors["type"] = f"Must be one of: {', '.join(sorted(EVENT_TYPES))}."
    is_search = event_type == EventType.SEARCH
    cleaned = {
        "event_id": _identifier(record, "event_id", errors),
        "shopper_id": _identifier(record, "shopper_id", errors),
        "item_id": _identifier(record, "item_id", errors, required=not is_search),
        "type": event_type,
        "query": _text(record, "query", errors, max_length=EVENT_TEXT_MAX["query"], required=is_search),
        "session_id": _text(record, "session_id", errors, max_length=EVENT_TEXT_MAX["session_id"]),
        "context": _object(record, "context", errors),
        "value": _event_value(record, event_type, errors),
        "occurred_at": None,
    }
    cleaned["rail"] = _context_rail(cleaned["context"], errors)
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
    limit = ITEM_TEXT_MAX["category"]
    path = _text(record, "category", errors, max_length=limit)
    normalised = CATEGORY_SEPARATOR.join(part.strip() for part in path.split(">") if part.strip())
    # Separators are stored spaced: 'a>b' is kept as 'a > b', which must fit too.
    if len(normalised) > limit and "category" not in errors:
        errors["category"] = f"Must be at most {limit} characters with its separators stored as ' > ' (got {len(normalised)})."
    return normalised


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
        errors["price"] = f"'{shown(str(value))}' is not a number."
        return None
    # Compared before rounding to cents: a larger exponent would not round, and 9999999999.995 rounds up past
    # the column's ten digits.
    if not price.is_finite() or price < 0 or price >= MAX_PRICE + Decimal("0.005"):
        errors["price"] = f"Must be a number from 0 to {MAX_PRICE:,}."
        return None
    return price.quantize(Decimal("0.01"))


def _image_url(record: dict, errors: dict) -> str:
    url = _text(record, "image_url", errors, max_length=ITEM_TEXT_MAX["image_url"])
    if url and "image_url" not in errors and (urlparse(url).scheme not in {"http", "https"} or not urlparse(url).netloc):
        errors["image_url"] = "Must be an absolute http(s) URL."
    return url


def item_clean(record) -> dict:
    """A catalog item, checked and normalised; raises RecordInvalid naming each bad field."""
    if not isinstance(record, dict):
        raise RecordInvalid({"item": "Each item must be a JSON object."})
    errors: dict[str, str] = {}
    _unknown_fields(record, ITEM_FIELDS, errors)
    currency = _text(record, "currency", errors, max_length=3).upper()
    if currency and "currency" not in errors and (len(currency) != 3 or not (currency.isascii() and currency.isalpha())):
        errors["currency"] = "Must be a three-letter ISO 4217 code, e.g. EUR."
    available = record.get("available", True)
    if not isinstance(available, bool):
        errors["available"] = "Must be true or false."
    cleaned = {
        "external_id": _identifier(record, "item_id", errors),
        "title": _text(record, "title", errors, max_length=ITEM_TEXT_MAX["title"], required=True),
        "description": _text(record, "description", errors, max_length=ITEM_TEXT_MAX["description"]),
        "category_path": _category(record, errors),
        "brand": _text(record, "brand", errors, max_length=ITEM_TEXT_MAX["brand"]),
        "price": _price(record, errors),
        "currency": currency,
        "image_url": _image_url(record, errors),
        "available": available,
        "attributes": _object(record, "attributes", errors),
    }
    if errors:
        raise RecordInvalid(errors)
    return cleaned
