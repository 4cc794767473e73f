import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from recommender.ml.nets.text_encoder import TextEncoder, default_model_path, item_text

REPO_ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def encoder():
    torch.manual_seed(0)
    return TextEncoder(device="cpu", batch_size=2)


def test_default_model_path_holds_the_shipped_minilm():
    assert (Path(default_model_path()) / "config.json").is_file()


def test_importing_the_module_does_not_import_torch():
    code = "import sys, recommender.ml.nets.text_encoder; print('torch' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


def test_item_text_starts_with_title_and_names_brand_and_categories():
    text = item_text("Trail  runner", brand="Acme", category_path="Shoes > Running")

    assert text == "Trail runner. Brand: Acme. Category: Shoes > Running"


def test_item_text_cuts_long_descriptions_at_a_word():
    text = item_text("Mug", description="ceramic " * 100)

    assert text.startswith("Mug. ceramic")
    assert len(text) < 320
    assert text.endswith("ceramic")


def test_related_products_are_nearer_than_unrelated_ones(encoder):
    shoe, sneaker, cream = encoder.encode(
        ["red running shoe", "crimson jogging sneaker", "face cream moisturizer"]
    )

    assert shoe @ sneaker > shoe @ cream


def test_rows_are_unit_norm_and_in_input_order_despite_length_batching(encoder):
    texts = [
        "a very long title about a waterproof hiking jacket with many pockets and a hood",
        "mug",
        "wireless noise cancelling headphones",
        "tea",
        "stainless steel chef knife twenty centimetres",
    ]
    done = []

    batched = encoder.encode(texts, progress=lambda n, total: done.append((n, total)))
    one_by_one = np.vstack([encoder.encode([text]) for text in texts])

    assert batched.dtype == np.float32
    assert batched.shape == (5, encoder.dim) == (5, 384)
    np.testing.assert_allclose(np.linalg.norm(batched, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(batched, one_by_one, atol=1e-4)
    assert done == [(2, 5), (4, 5), (5, 5)]


def test_no_texts_give_an_empty_matrix(encoder):
    assert encoder.encode([]).shape == (0, encoder.dim)
