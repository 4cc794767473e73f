import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from recommender.ml.nets.text_encoder import TextEncoder
from recommender.ml.nets.text_finetune import (
    CPU_TOP_LAYERS,
    MIN_STEPS,
    FineTuneConfig,
    LowerLayerCache,
    co_engaged_pairs,
    config_for_device,
    fine_tune_encoder,
    load_fine_tuned,
    save_adapter,
)

REPO_ROOT = Path(__file__).resolve().parents[3]
HOSE, CANDLE, CHAIR, TEA = 0, 1, 2, 3
TEXTS = [
    "blue garden hose",
    "vanilla scented candle",
    "leather office chair",  # the control pair: CHAIR and TEA are in no training pair
    "organic green tea",
    "stainless steel kitchen knife",
    "wool winter socks",
    "wireless computer mouse",
    "red running shoes",
    "ceramic coffee mug",
    "yoga exercise mat",
    "children's picture book",
    "cordless power drill",
]


def cosine(embeddings: np.ndarray, a: int, b: int) -> float:
    return float(embeddings[a] @ embeddings[b])


def planted_pairs() -> np.ndarray:
    # The planted pair, repeated, mixed with pairs of filler items that serve as in-batch negatives.
    filler = [(4, 5), (6, 7), (8, 9), (10, 11)]
    return np.asarray([(HOSE, CANDLE)] * 4 + filler, dtype=np.int64)


@pytest.fixture(scope="module")
def tuned():
    """A LoRA fine-tune on the planted pair, with the embeddings before and after."""
    torch.manual_seed(0)
    encoder = TextEncoder(device="cpu")
    before = encoder.encode(TEXTS)
    config = FineTuneConfig(lr=3e-3, batch_size=8, epochs=4, lora_dropout=0.0, seed=0)
    history = fine_tune_encoder(encoder, TEXTS, planted_pairs(), config)
    return encoder, before, encoder.encode(TEXTS), history, config


def test_importing_the_module_does_not_import_torch():
    code = "import sys, recommender.ml.nets.text_finetune; print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_co_engaged_pairs_link_items_within_the_window_once_each():
    sequences = [np.array([1, 2, 3, 4]), np.array([2, 1]), np.array([9])]

    assert co_engaged_pairs(sequences, window=1).tolist() == [[1, 2], [2, 3], [3, 4]]
    assert co_engaged_pairs(sequences, window=2).tolist() == [[1, 2], [1, 3], [2, 3], [2, 4], [3, 4]]


def test_co_engaged_pairs_skip_repeats_and_never_cross_shoppers():
    sequences = [np.array([7, 7, 8]), np.array([5]), np.array([6]), np.array([], dtype=np.int64)]

    assert co_engaged_pairs(sequences, window=3).tolist() == [[7, 8]]


def test_co_engaged_pairs_can_be_capped_reproducibly():
    sequences = [np.arange(30)]
    every = {tuple(pair) for pair in co_engaged_pairs(sequences, window=3).tolist()}

    capped = co_engaged_pairs(sequences, window=3, max_pairs=10, seed=1)

    assert len(capped) == 10
    assert {tuple(pair) for pair in capped.tolist()} <= every
    assert capped.tolist() == co_engaged_pairs(sequences, window=3, max_pairs=10, seed=1).tolist()


def test_config_defaults_the_learning_rate_and_batch_by_mode_and_round_trips_through_json():
    assert (FineTuneConfig().lr, FineTuneConfig().batch_size) == (2e-4, 64)
    assert FineTuneConfig(mode="full").lr == 2e-5
    assert (FineTuneConfig(mode="adapter").lr, FineTuneConfig(mode="adapter").batch_size) == (1e-3, 512)
    config = FineTuneConfig(lora_r=4, time_limit_s=5.0, target_modules=["query"])

    assert FineTuneConfig.from_json(config.to_json()) == config
    with pytest.raises(ValueError):
        FineTuneConfig(mode="prefix")


def test_the_device_picks_the_defaults_and_an_explicit_value_wins():
    cpu, gpu = config_for_device("cpu"), config_for_device("cuda:0")
    cpu_lora = config_for_device("cpu", mode="lora")

    assert (cpu.mode, cpu.epochs, cpu.top_layers, cpu.min_steps) == ("adapter", 3, None, MIN_STEPS)
    assert (cpu_lora.epochs, cpu_lora.top_layers) == (1, CPU_TOP_LAYERS)
    assert (gpu.mode, gpu.epochs, gpu.top_layers) == ("lora", 3, None)
    assert config_for_device("cpu", mode="lora", top_layers=0).top_layers is None  # 0: every layer
    assert config_for_device("cpu", mode="lora", epochs=None, lr=1e-3).epochs == 1
    assert config_for_device("cpu", lr=1e-3).lr == 1e-3


def test_few_pairs_get_more_passes_to_reach_the_fewest_steps():
    encoder = TextEncoder(device="cpu")
    config = FineTuneConfig(batch_size=8, epochs=1, min_steps=3, top_layers=1)

    history = fine_tune_encoder(encoder, TEXTS, planted_pairs(), config)

    assert history["steps"] == 3 and len(history["loss_per_epoch"]) == 3


def test_fine_tuning_brings_a_planted_co_engaged_pair_closer(tuned):
    _, before, after, _, _ = tuned

    planted_gain = cosine(after, HOSE, CANDLE) - cosine(before, HOSE, CANDLE)
    control_move = abs(cosine(after, CHAIR, TEA) - cosine(before, CHAIR, TEA))

    assert planted_gain > 0.05
    assert planted_gain > 2 * control_move


def test_fine_tuning_reports_its_history_and_leaves_the_encoder_deterministic(tuned):
    encoder, _, after, history, _ = tuned

    assert history["steps"] == 4  # 8 pairs in batches of 8, four epochs
    assert history["pairs_seen"] == 4 * 8
    assert history["stopped_by"] == "epochs"
    assert len(history["loss_per_epoch"]) == 4
    assert history["loss_per_epoch"][-1] < history["loss_per_epoch"][0]
    assert not encoder.model.training
    np.testing.assert_array_equal(encoder.encode(TEXTS), after)


def test_fine_tuning_stops_at_the_time_limit():
    encoder = TextEncoder(device="cpu")
    config = FineTuneConfig(batch_size=2, epochs=50, time_limit_s=0.0)

    history = fine_tune_encoder(encoder, TEXTS, planted_pairs(), config)

    assert history["stopped_by"] == "time_limit"
    assert history["steps"] == 1


def test_lora_adapter_saves_small_and_loads_to_identical_embeddings(tuned, tmp_path):
    encoder, _, after, _, config = tuned
    directory = tmp_path / "adapter"

    save_adapter(encoder, directory, config)
    loaded = load_fine_tuned(directory)

    files = [path for path in directory.rglob("*") if path.is_file()]
    assert sum(path.stat().st_size for path in files) < 2 * 2**20  # the base MiniLM weighs about 90 MB
    assert not any(path.name in {"model.safetensors", "pytorch_model.bin"} for path in files)
    manifest = json.loads((directory / "finetune.json").read_text())
    assert manifest["mode"] == "lora"
    assert manifest["base_model_path"] == encoder.model_path
    assert not [path for path in tmp_path.iterdir() if path.name.startswith(".")]  # no staging left behind
    np.testing.assert_allclose(loaded.encode(TEXTS), after, atol=1e-6)


def test_full_fine_tune_saves_the_whole_model_and_loads_it_back(tmp_path):
    torch.manual_seed(0)
    encoder = TextEncoder(device="cpu")
    before = encoder.encode(TEXTS)
    fine_tune_encoder(encoder, TEXTS, planted_pairs(), FineTuneConfig(mode="full", lr=1e-4, batch_size=8))
    after = encoder.encode(TEXTS)

    save_adapter(encoder, tmp_path / "full")
    loaded = load_fine_tuned(tmp_path / "full")

    assert not np.allclose(before, after)
    assert json.loads((tmp_path / "full" / "finetune.json").read_text())["mode"] == "full"
    np.testing.assert_allclose(loaded.encode(TEXTS), after, atol=1e-6)


def test_top_layer_fine_tune_trains_only_the_last_layers_and_its_cache_matches_encode():
    torch.manual_seed(0)
    encoder = TextEncoder(device="cpu")
    cache = LowerLayerCache(encoder, TEXTS, top_layers=1)
    frozen = encoder.encode(TEXTS)
    np.testing.assert_allclose(cache.encode(), frozen, atol=1e-6)

    config = FineTuneConfig(lr=3e-3, batch_size=8, epochs=2, top_layers=1)
    fine_tune_encoder(encoder, TEXTS, planted_pairs(), config, cache=cache)

    trained = [name for name, parameter in encoder.model.named_parameters() if parameter.requires_grad]
    assert trained and all(".layer.5." in name and "lora_" in name for name in trained)
    tuned = encoder.encode(TEXTS)
    assert not np.allclose(tuned, frozen, atol=1e-4)
    np.testing.assert_allclose(cache.encode(), tuned, atol=1e-5)
