import pytest
from django.core.management import CommandError, call_command

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
