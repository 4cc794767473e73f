from pathlib import Path

import numpy as np
import pytest

from catalog.models import Item, Shopper
from recommender.ml.nets.text_finetune import load_fine_tuned
from recommender.ml.registry import load_arrays
from recommender.ml.trainer import load_model
from recommender.models import Family, ItemEmbedding, ModelVersion
from recommender.selectors import active_version, shop_arrays_load
from recommender.services import candidates_for, item_embeddings_refresh, model_version_train, version_promote, version_rollback
from recommender.services.embeddings import VECTORS_FOLDER, serving_encoder
from recommender.services.training import encoder_held_back

pytestmark = pytest.mark.django_db


QUICK_S = 2.0


@pytest.fixture
def quick_training(settings):
    # Runs queued by a promotion carry no time limit of their own: they take the device's.
    settings.VITRINE_CPU_TRAIN_TIME_LIMIT_S = QUICK_S


def fine_tune(shop, train) -> ModelVersion:
    """A fine-tuned encoder, serving: by hand, since a two-second run may rank held-out items below MiniLM."""
    version, = train(shop, Family.FINETUNED_TEXT, time_limit_s=QUICK_S)
    assert version.status == ModelVersion.Status.SUCCEEDED, version.error
    return version_promote(version=version)


def stored_vectors(shop) -> dict[int, np.ndarray]:
    return {pk: np.asarray(vector) for pk, vector in ItemEmbedding.objects.filter(item__shop=shop).values_list("item_id", "vector")}


def computed_vectors(version: ModelVersion) -> dict[int, np.ndarray]:
    directory = Path(version.artifact_path)
    _, index = load_arrays(directory / "index")
    _, stored = load_arrays(directory / VECTORS_FOLDER)
    return dict(zip(index["item_pks"].tolist(), stored["vectors"]))


def refresh(shop) -> np.ndarray:
    arrays = shop_arrays_load(shop=shop)
    return item_embeddings_refresh(shop=shop, item_pks=arrays.item_pks, texts=arrays.data.item_texts, device="cpu")


def assert_same_vectors(found: dict[int, np.ndarray], expected: dict[int, np.ndarray]) -> None:
    assert found.keys() == expected.keys()
    for pk, vector in expected.items():
        np.testing.assert_allclose(found[pk], vector, atol=1e-6)


@pytest.mark.parametrize(("setting", "mode", "stages"), [("", "adapter", {"whitened"}), ("lora", "lora", set())])
def test_the_fine_tuned_encoder_is_a_version_with_its_metrics_a_small_adapter_and_no_candidates(
    pattern_shop, train, quick_training, settings, setting, mode, stages
):
    settings.VITRINE_FINETUNE_MODE = setting  # empty: the CPU's default
    train(pattern_shop, Family.POPULARITY)
    encoder = fine_tune(pattern_shop, train)

    assert active_version(shop=pattern_shop, family=Family.FINETUNED_TEXT) == encoder
    assert "Bounded CPU run" in encoder.budget_note
    assert encoder.hyperparameters["mode"] == mode and encoder.history["steps"] > 0
    cold = encoder.metrics["cold_start"]
    assert cold["cold_items"] == 2 and set(cold) - {"cold_items", "cases"} == {"popularity", "frozen", "fine_tuned"} | stages
    assert 0.0 <= encoder.metrics["ndcg_10"] <= 1.0
    assert set(encoder.metrics["new_shoppers"]) == {"1_event", "2_events"}
    files = [path for path in (Path(encoder.artifact_path) / "model").rglob("*") if path.is_file()]
    assert (Path(encoder.artifact_path) / "model" / "finetune.json") in files
    assert sum(path.stat().st_size for path in files) < 2 * 2**20  # the adapter, not a copy of the base model
    shopper = Shopper.objects.filter(shop=pattern_shop).first()
    assert set(candidates_for(shopper=shopper, k=5)) == {Family.POPULARITY}


def test_promoting_the_encoder_retrains_the_text_families_on_its_vectors(pattern_shop, train, quick_training):
    train(pattern_shop, Family.TEXT, time_limit_s=QUICK_S)
    base = stored_vectors(pattern_shop)

    encoder = fine_tune(pattern_shop, train)

    queued = list(ModelVersion.objects.filter(shop=pattern_shop, status=ModelVersion.Status.QUEUED).order_by("pk"))
    assert [version.family for version in queued] == [Family.TEXT, Family.SEQUENTIAL]
    for version in queued:  # as the train queue's worker would
        model_version_train(version=version)
    tuned = computed_vectors(encoder)
    assert set(ItemEmbedding.objects.filter(item__shop=pattern_shop).values_list("encoder", flat=True)) == {f"finetuned_text#{encoder.pk}"}
    assert_same_vectors(stored_vectors(pattern_shop), tuned)
    assert max(np.abs(tuned[pk] - base[pk]).max() for pk in base) > 1e-3
    text, sequential = (active_version(shop=pattern_shop, family=family) for family in (Family.TEXT, Family.SEQUENTIAL))
    _, index = load_arrays(Path(text.artifact_path) / "index")
    order = index["item_pks"].tolist()
    # Similar items read the text model's vectors; the sequential model fuses its own copy into its item vectors.
    np.testing.assert_allclose(load_model(Family.TEXT, Path(text.artifact_path) / "model").embeddings, [tuned[pk] for pk in order], atol=1e-6)
    np.testing.assert_allclose(load_model(Family.SEQUENTIAL, Path(sequential.artifact_path) / "model")._text_embeddings, [tuned[pk] for pk in order], atol=1e-6)


def test_a_changed_item_is_embedded_by_the_serving_fine_tuned_encoder(pattern_shop, train, quick_training):
    encoder = fine_tune(pattern_shop, train)
    refresh(pattern_shop)
    changed = Item.objects.get(shop=pattern_shop, title="Plum lipstick")
    changed.title = "Plum satin lipstick"
    changed.save()

    arrays = shop_arrays_load(shop=pattern_shop)
    refresh(pattern_shop)

    text = arrays.data.item_texts[arrays.item_pks.tolist().index(changed.pk)]
    expected = load_fine_tuned(Path(encoder.artifact_path) / "model").encode([text])[0]
    np.testing.assert_allclose(stored_vectors(pattern_shop)[changed.pk], expected, atol=1e-5)


def test_rolling_back_the_encoder_embeds_the_items_with_the_previous_one(pattern_shop, train, quick_training):
    first, second = (fine_tune(pattern_shop, train) for _ in range(2))
    refresh(pattern_shop)
    assert serving_encoder(shop=pattern_shop).version == second

    version_rollback(shop=pattern_shop, family=Family.FINETUNED_TEXT)
    refresh(pattern_shop)

    assert serving_encoder(shop=pattern_shop).version == first
    assert set(ItemEmbedding.objects.filter(item__shop=pattern_shop).values_list("encoder", flat=True)) == {f"finetuned_text#{first.pk}"}
    assert_same_vectors(stored_vectors(pattern_shop), computed_vectors(first))


def test_a_failed_fine_tune_leaves_the_serving_encoder_and_its_vectors_in_place(pattern_shop, train, quick_training, settings, tmp_path):
    serving = fine_tune(pattern_shop, train)
    refresh(pattern_shop)
    before = stored_vectors(pattern_shop)
    versions_before = ModelVersion.objects.count()
    settings.VITRINE_TEXT_MODEL_PATH = str(tmp_path / "no-such-model")

    failed, = train(pattern_shop, Family.FINETUNED_TEXT, time_limit_s=QUICK_S)
    refresh(pattern_shop)

    assert failed.status == ModelVersion.Status.FAILED
    assert not failed.is_active
    assert active_version(shop=pattern_shop, family=Family.FINETUNED_TEXT) == serving
    assert ModelVersion.objects.count() == versions_before + 1  # nothing queued to retrain
    assert set(ItemEmbedding.objects.filter(item__shop=pattern_shop).values_list("encoder", flat=True)) == {f"finetuned_text#{serving.pk}"}
    assert_same_vectors(stored_vectors(pattern_shop), before)


@pytest.mark.parametrize(("tuned", "frozen", "serves"), [(0.05, 0.04, True), (0.04, 0.04, True), (0.03, 0.04, False), (None, None, True)])
def test_an_encoder_that_ranks_held_out_items_below_the_frozen_one_does_not_serve_on_its_own(tuned, frozen, serves):
    cold_start = {"fine_tuned": {"ndcg_10": tuned}, "frozen": {"ndcg_10": frozen}}
    version = ModelVersion(family=Family.FINETUNED_TEXT, metrics={"cold_start": cold_start})

    assert (encoder_held_back(version=version) == "") == serves
    assert encoder_held_back(version=ModelVersion(family=Family.SEQUENTIAL, metrics={})) == ""
