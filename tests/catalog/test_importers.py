import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from catalog.models import Event, EventType, Item, Shopper

pytestmark = [pytest.mark.django_db, pytest.mark.dataset]


def test_a_slice_of_beauty_is_imported_in_each_shoppers_order(beauty_path, capsys):
    call_command("import_dataset", str(beauty_path), "--shop", "beauty", "--limit-shoppers", "20")

    assert Shopper.objects.filter(shop__slug="beauty").count() == 20
    first_line = (beauty_path / "sequences.txt").read_text().splitlines()[0].split()
    first_items = first_line[1:]
    events = Event.objects.filter(shop__slug="beauty", event_id__startswith=f"amazon_beauty_5core:{first_line[0]}:")
    ordered = list(events.order_by("occurred_at").values_list("event_id", flat=True))
    assert ordered == [f"amazon_beauty_5core:{first_line[0]}:{position}" for position in range(len(first_items))]
    assert set(events.values_list("type", flat=True)) == {EventType.PURCHASE}
    opi = Item.objects.get(shop__slug="beauty", external_id="B004756YJA")
    assert opi.title.startswith("OPI Nail Lacquer")
    assert opi.brand == "OPI"
    assert opi.category_path == "Makeup > Nails > Nail Polish"
    assert "Imported into shop 'beauty'" in capsys.readouterr().out


def test_importing_twice_adds_nothing(beauty_path):
    call_command("import_dataset", str(beauty_path), "--shop", "beauty", "--limit-shoppers", "15")
    counts = (Item.objects.count(), Shopper.objects.count(), Event.objects.count())

    call_command("import_dataset", str(beauty_path), "--shop", "beauty", "--limit-shoppers", "15")

    assert (Item.objects.count(), Shopper.objects.count(), Event.objects.count()) == counts
    assert counts[2] > 15


def test_a_folder_that_is_not_a_dataset_is_refused(tmp_path):
    with pytest.raises(CommandError, match="lacks items.tsv"):
        call_command("import_dataset", str(tmp_path))


def test_a_long_import_keeps_the_planner_statistics_of_the_tables_it_grows(beauty_path, monkeypatch):
    # Batches of 10 so that a slice of 40 shoppers runs past the 4, 8, 16… batches at which the tables are analyzed.
    monkeypatch.setattr("catalog.importers.BATCH_SIZE", 10)
    call_command("import_dataset", str(beauty_path), "--shop", "beauty", "--limit-shoppers", "40")

    with connection.cursor() as cursor:
        cursor.execute("SELECT relname, reltuples FROM pg_class WHERE relname = ANY(%s)", [["catalog_event", "catalog_shopper", "catalog_item"]])
        estimated = dict(cursor.fetchall())
    # The planner's row estimates, as of the last analyze, come close to what the import wrote (not 0, nor unknown).
    assert 0.5 * Event.objects.count() <= estimated["catalog_event"] <= Event.objects.count()
    assert 0.5 * Shopper.objects.count() <= estimated["catalog_shopper"] <= Shopper.objects.count()
    assert 0.5 * Item.objects.count() <= estimated["catalog_item"] <= Item.objects.count()
