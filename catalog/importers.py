"""Dataset import through the same services the storefront API uses.

The layout is that of ../shared/datasets/amazon_beauty_5core: items.tsv (item_id, asin, title,
brand, categories joined by ' | '), users.tsv (user_id, reviewer_id) and sequences.txt (one
shopper a line: user_id then item ids, oldest first).
"""

import csv
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from django.db import connection
from django.utils import timezone

from .models import Event, EventType, Item, Shop, Shopper
from .services import event_batch_ingest, item_batch_upsert

BATCH_SIZE = 1000
# The source keeps each shopper's order but no times: events are spaced a day apart, the last one at import time.
EVENT_SPACING = timedelta(days=1)
REQUIRED_FILES = ("items.tsv", "users.tsv", "sequences.txt")
# Until autovacuum's next round (a minute or more) a new database's planner statistics hold its tables empty,
# and each batch's lookups then read whole tables: an import into one slowed from 18,000 events/s to 500.
# The tables an import grows are analyzed whenever it has doubled what it wrote, from this many batches on.
ANALYZE_FROM_BATCHES = 4


class DatasetError(Exception):
    pass


@dataclass
class DatasetImportResult:
    items_created: int = 0
    items_updated: int = 0
    events_created: int = 0
    events_duplicate: int = 0
    shoppers: int = 0
    rejected: int = 0


def dataset_check(path: Path) -> None:
    if not path.is_dir():
        raise DatasetError(f"{path} is not a folder.")
    missing = [name for name in REQUIRED_FILES if not (path / name).exists()]
    if missing:
        raise DatasetError(f"{path} lacks {', '.join(missing)}; expected the layout of amazon_beauty_5core.")


def _read_tsv(path: Path) -> Iterator[dict]:
    with path.open(newline="", encoding="utf-8") as handle:
        yield from csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)


def _read_sequences(path: Path, limit: int | None) -> list[tuple[str, list[str]]]:
    sequences = []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            parts = line.split()
            if len(parts) < 2:
                continue
            sequences.append((parts[0], parts[1:]))
            if limit is not None and len(sequences) >= limit:
                break
    return sequences


def _item_record(row: dict) -> dict:
    brand = row["brand"].strip()
    return {
        "item_id": row["asin"],
        "title": row["title"],
        "brand": "" if brand == "Unknown" else brand,
        "category": " > ".join(part.strip() for part in row["categories"].split("|") if part.strip()),
    }


def _event_records(
    dataset: str, sequences: list[tuple[str, list[str]]], shoppers: dict[str, str], asins: dict[str, str], anchor: datetime
) -> Iterator[dict]:
    for user_id, item_ids in sequences:
        last = len(item_ids) - 1
        for position, item_id in enumerate(item_ids):
            yield {
                "event_id": f"{dataset}:{user_id}:{position}",
                "shopper_id": shoppers[user_id],
                "item_id": asins[item_id],
                "type": EventType.PURCHASE,
                "occurred_at": (anchor - (last - position) * EVENT_SPACING).isoformat(),
            }


def _chunks(records: list, size: int) -> Iterator[list]:
    for start in range(0, len(records), size):
        yield records[start : start + size]


def dataset_import(
    *, shop: Shop, path: Path, limit_shoppers: int | None = None, progress: Callable[[str, int, int], None] | None = None
) -> DatasetImportResult:
    """Import a dataset folder into `shop`; a second run adds nothing.

    `progress(stage, done, total)` is called after each batch. With `limit_shoppers`, only the first
    shoppers and the items they touched are imported.
    """
    dataset_check(path)
    report = progress or (lambda stage, done, total: None)
    sequences = _read_sequences(path / "sequences.txt", limit_shoppers)
    shoppers = {row["user_id"]: row["reviewer_id"] for row in _read_tsv(path / "users.tsv")}
    wanted = {item_id for _, item_ids in sequences for item_id in item_ids} if limit_shoppers else None
    item_rows = [row for row in _read_tsv(path / "items.tsv") if wanted is None or row["item_id"] in wanted]
    asins = {row["item_id"]: row["asin"] for row in item_rows}
    result = DatasetImportResult(shoppers=len(sequences))

    items = [_item_record(row) for row in item_rows]
    for done, chunk in enumerate(_chunks(items, BATCH_SIZE), start=1):
        batch = item_batch_upsert(shop=shop, items=chunk, bulk_load=True)
        result.items_created += batch.created
        result.items_updated += batch.updated
        result.rejected += len(batch.rejected)
        _statistics_kept(done, (Item,))
        report("items", min(done * BATCH_SIZE, len(items)), len(items))

    anchor = timezone.now().replace(minute=0, second=0, microsecond=0)
    events = list(_event_records(path.name, sequences, shoppers, asins, anchor))
    for done, chunk in enumerate(_chunks(events, BATCH_SIZE), start=1):
        batch = event_batch_ingest(shop=shop, events=chunk)
        result.events_created += batch.created
        result.events_duplicate += batch.duplicates
        result.rejected += len(batch.rejected)
        _statistics_kept(done, (Event, Shopper))
        report("events", min(done * BATCH_SIZE, len(events)), len(events))
    return result


def _statistics_kept(batches_done: int, models: tuple) -> None:
    """Planner statistics of `models`' tables refreshed at 4, 8, 16… batches."""
    if batches_done < ANALYZE_FROM_BATCHES or batches_done & (batches_done - 1):
        return
    with connection.cursor() as cursor:
        for model in models:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
