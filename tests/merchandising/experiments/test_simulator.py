"""The storefront simulator: its ground-truth shoppers click what they went on to buy, an effect raises its
variant's clicks, and against a live server every event it sends is stored with its page's context."""

import random
import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from catalog.models import Event
from catalog.services import api_key_create
from merchandising.experiments.models import Experiment, Variant
from merchandising.experiments.services import (
    experiment_create,
    experiment_start,
    variant_add,
)
from merchandising.experiments.simulator import (
    Behaviour,
    PreferenceModel,
    Simulation,
    TokenBucket,
    effects_parse,
    preference_model_load,
    rate_parse,
    visit_events,
)
from merchandising.services import default_rails_ensure

CATEGORIES = {"lip-1": "Makeup > Lips", "lip-2": "Makeup > Lips", "lip-3": "Makeup > Lips",
              "nail-1": "Makeup > Nails", "nail-2": "Makeup > Nails", "face-1": "Skin Care > Face"}


def _page(item_ids, *, variant=None, request_id="r-1"):
    """A served page of one rail whose items all sit in slot 1, so only what the shopper likes tells them apart."""
    items = [{"item_id": item_id, "rail": "for-you", "slot": 1} for item_id in item_ids]
    return {"request_id": request_id, "experiment": 1 if variant else None, "variant": variant,
            "rails": [{"key": "for-you", "items": items}]}


def _clicks(model, page, *, visits, effects=None, seed=0):
    rng = random.Random(seed)
    counts = dict.fromkeys((item["item_id"] for item in page["rails"][0]["items"]), 0)
    for number in range(visits):
        events = visit_events(model=model, page=page, shopper_id="ann", rng=rng, effects=effects or {}, event_prefix=f"v{number}")
        for event in events:
            counts[event["item_id"]] += event["type"] == "click"
    return counts


@pytest.fixture
def ann_model():
    """Ann bought nail-1 long ago, then lip-1 and face-1: the last two are her future items."""
    return PreferenceModel.from_sequences(sequences={"ann": ["nail-1", "lip-1", "face-1"]}, categories=CATEGORIES,
                                          holdout=2, behaviour=Behaviour(high=0.3, low=0.02))


def test_a_shopper_clicks_their_future_items_and_their_categories_far_more_often_than_others(ann_model):
    clicks = _clicks(ann_model, _page(["lip-1", "lip-2", "nail-1", "nail-2"]), visits=4000)

    # Future item and same category: high (0.3); the bought-earlier item and its category: low (0.02).
    assert 1000 < clicks["lip-1"] < 1400 and 1000 < clicks["lip-2"] < 1400
    assert 40 < clicks["nail-1"] < 130 and 40 < clicks["nail-2"] < 130
    assert ann_model.click_probability(shopper_id="ann", item_id="lip-1", slot=3) == pytest.approx(0.3 / 2)
    assert ann_model.click_probability(shopper_id="someone-else", item_id="lip-1", slot=1) == pytest.approx(0.02)


def test_the_effect_raises_the_click_rate_of_its_variants_pages_only(ann_model):
    items = ["lip-1", "nail-1", "nail-2"]
    effects = effects_parse(["b=+50%"])

    in_b = sum(_clicks(ann_model, _page(items, variant="b"), visits=6000, effects=effects).values())
    in_control = sum(_clicks(ann_model, _page(items, variant="control"), visits=6000, effects=effects).values())
    without = sum(_clicks(ann_model, _page(items, variant="b"), visits=6000).values())

    assert effects == {"b": 1.5}
    assert 1.35 < in_b / in_control < 1.65
    assert 0.9 < without / in_control < 1.1


def test_clicks_lead_to_carts_and_purchases_each_with_the_pages_context():
    model = PreferenceModel.from_sequences(sequences={"ann": ["lip-1"]}, categories=CATEGORIES,
                                           behaviour=Behaviour(high=1.0, add_to_cart=1.0, purchase=1.0))
    page = _page(["lip-1", "face-1"], request_id="r-9")
    page["rails"][0]["items"][1]["slot"] = 2

    events = visit_events(model=model, page=page, shopper_id="ann", rng=random.Random(0), effects={},
                          event_prefix="sim-x-0", impressions=True)

    liked = [(event["type"], event["context"]) for event in events if event["item_id"] == "lip-1"]
    context = {"request_id": "r-9", "rail": "for-you", "slot": 1}
    assert liked == [("impression", context), ("click", context), ("add_to_cart", context), ("purchase", context)]
    assert len({event["event_id"] for event in events}) == len(events)


def test_rates_and_effects_are_parsed_or_refused_with_the_expected_form():
    assert (rate_parse("20/s"), rate_parse("600/min"), rate_parse("7")) == (20.0, 10.0, 7.0)
    assert effects_parse(["b=+10%", "c=-5%"]) == pytest.approx({"b": 1.1, "c": 0.95})
    for wrong in ("fast", "0/s", "-3/s", "20/day"):
        with pytest.raises(ValueError, match="like 20/s"):
            rate_parse(wrong)
    for wrong in ("b=10", "b+10%", "b=-100%"):
        with pytest.raises(ValueError, match="like b=\\+10%"):
            effects_parse([wrong])


def test_the_token_bucket_spaces_takers_one_period_apart_after_its_burst():
    now = [100.0]
    bucket = TokenBucket(rate=4.0, burst=1.0, clock=lambda: now[0])

    assert [bucket.wait_for_token() for _ in range(3)] == [0.0, 0.25, 0.5]
    now[0] += 2.0  # idle: the queue of two drains, and one token (the burst) is saved up, no more
    assert [bucket.wait_for_token() for _ in range(2)] == [0.0, 0.25]


@pytest.mark.dataset
def test_the_demo_model_names_shoppers_and_items_as_their_import_does(beauty_path):
    model = preference_model_load(beauty_path, holdout=2)

    # The first line of sequences.txt is user 1 (reviewer A1YJEY40YUW4SE), items 1 to 5: items 4 and 5 are held out.
    first = model.interests["A1YJEY40YUW4SE"]
    assert len(model.shoppers) == 22_363
    assert first.items == {"7806397051", "B002WLWX82"}
    assert first.categories == {"Makeup > Face > Concealers & Neutralizers", "Skin Care > Hands & Nails > Paraffin Baths"}


def _experiment(shop):
    default_rails_ensure(shop=shop)
    experiment = experiment_create(shop=shop, actor=None, name="Simulated", primary_metric=Experiment.Metric.CLICK_THROUGH)
    variant_add(experiment=experiment, actor=None, key="control", name="Control", share=0.5, kind=Variant.Kind.CONTROL)
    variant_add(experiment=experiment, actor=None, key="b", name="B", share=0.5, kind=Variant.Kind.HOLDOUT)
    return experiment_start(experiment=experiment, actor=None)


@pytest.mark.django_db(transaction=True)
def test_against_a_live_server_every_event_sent_is_stored_with_its_pages_request_id_rail_and_slot(live_server, pattern_shop):
    _experiment(pattern_shop)
    _, key = api_key_create(shop=pattern_shop, name="simulator")
    sequences = {}
    for external_id, item_id in Event.objects.filter(shop=pattern_shop).order_by("occurred_at").values_list(
        "shopper__external_id", "item__external_id"
    ):
        sequences.setdefault(external_id, []).append(item_id)
    categories = dict(pattern_shop.items.values_list("external_id", "category_path"))
    model = PreferenceModel.from_sequences(sequences=sequences, categories=categories, behaviour=Behaviour(high=0.9, low=0.2))
    seen = []

    reports = []
    summary = Simulation(url=live_server.url, key=key, model=model, rate=10.0, seconds=3.0, seed=7, workers=2,
                         observe=lambda page, events: seen.append((page, events)),
                         progress=reports.append, progress_every_s=1.0).run()

    sent = {event["event_id"]: event for _, events in seen for event in events}
    shown = {(page["request_id"], item["item_id"]): {"request_id": page["request_id"], "rail": item["rail"], "slot": item["slot"]}
             for page, _ in seen for rail in page["rails"] for item in rail["items"]}
    stored = list(Event.objects.filter(shop=pattern_shop, event_id__startswith="sim-").select_related("item"))
    assert summary.errors == {} and 5 <= len(seen) <= 32  # 10 a second for 3 s, and the one token saved up
    assert sum(tally.pages for tally in summary.arms.values()) == len(seen) and set(summary.arms) <= {"control", "b"}
    assert sum(tally.clicks for tally in summary.arms.values()) == sum(e["type"] == "click" for e in sent.values()) > 0
    assert {event.event_id for event in stored} == set(sent)
    assert len(reports) >= 2 and reports[0] is not summary
    assert sum(tally.pages for tally in reports[0].arms.values()) < len(seen)
    for event in stored:
        assert event.context == shown[(event.context["request_id"], event.item.external_id)]
        assert event.type == sent[event.event_id]["type"]


def _dataset_write(shop, folder):
    """The shop's items, shoppers and purchases as a dataset folder in the amazon_beauty_5core layout."""
    items = list(shop.items.order_by("pk").values_list("external_id", "title", "category_path"))
    numbers = {external_id: number for number, (external_id, _, _) in enumerate(items, start=1)}
    (folder / "items.tsv").write_text("item_id\tasin\ttitle\tbrand\tcategories\n" + "".join(
        f"{numbers[external_id]}\t{external_id}\t{title}\t\t{category.replace(' > ', ' | ')}\n" for external_id, title, category in items
    ))
    sequences = {}
    for shopper, item in Event.objects.filter(shop=shop).order_by("occurred_at").values_list("shopper__external_id", "item__external_id"):
        sequences.setdefault(shopper, []).append(str(numbers[item]))
    (folder / "users.tsv").write_text("user_id\treviewer_id\n" + "".join(f"{n}\t{s}\n" for n, s in enumerate(sequences, start=1)))
    (folder / "sequences.txt").write_text("".join(f"{n} {' '.join(seq)}\n" for n, seq in enumerate(sequences.values(), start=1)))


@pytest.mark.django_db(transaction=True)
def test_the_command_plays_a_dataset_against_the_server_and_prints_each_variants_counts(live_server, pattern_shop, shop_b, tmp_path):
    _experiment(pattern_shop)
    _, key = api_key_create(shop=pattern_shop, name="simulator")
    _dataset_write(pattern_shop, tmp_path)
    out = StringIO()

    call_command("simulate_storefront", "--shop", "shop-a", f"--key={key}", "--url", live_server.url, "--data", str(tmp_path),
                 "--rate", "600/min", "--minutes", "0.05", "--effect", "b=+10%", stdout=out)

    printed = out.getvalue()
    assert "Playing 42 shoppers at 10 visits/s for 0.05 min" in printed and "effects b ×1.1" in printed
    assert re.search(r"^(control|b) +[1-9]\d* +\d+ ", printed, re.MULTILINE)
    pages = int(re.search(r"^(\d+) pages in \d+ s", printed, re.MULTILINE).group(1))
    assert 1 <= pages <= 31  # 10 a second for 3 s, then it stops by itself
    with pytest.raises(CommandError, match="not a key of the shop 'shop-b'"):
        call_command("simulate_storefront", "--shop", "shop-b", f"--key={key}", "--url", live_server.url, "--data", str(tmp_path))
