import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from recommender.ml.registry import artifact_dir, atomic_directory, load_arrays, save_arrays

REPO_ROOT = Path(__file__).resolve().parents[3]


def test_importing_the_registry_does_not_import_torch():
    code = "import sys, recommender.ml.registry; print('torch' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


def test_artifact_dir_is_created_per_shop_family_and_version(tmp_path):
    directory = artifact_dir(tmp_path, "shop-a", "sasrec", 7)

    assert directory == tmp_path / "shop-a" / "sasrec" / "7"
    assert directory.is_dir()


def test_saved_arrays_and_config_load_back_identical(tmp_path):
    directory = artifact_dir(tmp_path, "shop-a", "popularity", 1)
    config = {"family": "popularity", "half_life_days": 7.5, "window": [1, 2]}
    arrays = {
        "scores": np.array([0.5, 0.25, 0.0], dtype=np.float32),
        "item_ids": np.arange(3, dtype=np.int64),
        "seen": np.array([True, False, True]),
    }

    save_arrays(directory, config, arrays)
    loaded_config, loaded_arrays = load_arrays(directory)

    assert loaded_config == config
    assert loaded_arrays.keys() == arrays.keys()
    for name, array in arrays.items():
        assert loaded_arrays[name].dtype == array.dtype
        np.testing.assert_array_equal(loaded_arrays[name], array)


def test_saving_again_replaces_the_whole_artifact(tmp_path):
    directory = tmp_path / "artifact"
    save_arrays(directory, {"v": 1}, {"old": np.zeros(2)})

    save_arrays(directory, {"v": 2}, {"new": np.ones(2)})

    config, arrays = load_arrays(directory)
    assert config == {"v": 2}
    assert list(arrays) == ["new"]
    assert [p.name for p in tmp_path.iterdir()] == ["artifact"]


def test_writer_failing_midway_leaves_no_directory(tmp_path):
    directory = tmp_path / "artifact"
    # config.json is written first; the object array then makes np.save raise.
    with pytest.raises(ValueError):
        save_arrays(directory, {"v": 1}, {"ok": np.zeros(2), "bad": np.array([{}], dtype=object)})

    assert list(tmp_path.iterdir()) == []


def test_failed_rewrite_keeps_the_previous_artifact(tmp_path):
    directory = tmp_path / "artifact"
    save_arrays(directory, {"v": 1}, {"a": np.arange(3)})

    with pytest.raises(RuntimeError), atomic_directory(directory) as staging:
        (staging / "config.json").write_text(json.dumps({"v": 2}))
        raise RuntimeError("killed")

    config, arrays = load_arrays(directory)
    assert config == {"v": 1}
    np.testing.assert_array_equal(arrays["a"], np.arange(3))
    assert [p.name for p in tmp_path.iterdir()] == ["artifact"]


def test_mapped_arrays_are_read_only_and_shared_from_the_files(tmp_path):
    directory = tmp_path / "artifact"
    save_arrays(directory, {}, {"embeddings": np.eye(3, dtype=np.float32)})

    _, arrays = load_arrays(directory, mapped=True)

    assert isinstance(arrays["embeddings"], np.memmap)
    np.testing.assert_array_equal(arrays["embeddings"], np.eye(3))
    with pytest.raises(ValueError):
        arrays["embeddings"][0, 0] = 2.0


def test_an_artifact_stored_as_one_npz_file_is_still_read(tmp_path):
    directory = tmp_path / "artifact"
    directory.mkdir()
    (directory / "config.json").write_text(json.dumps({"v": 1}))
    np.savez(directory / "arrays.npz", a=np.arange(3))

    config, arrays = load_arrays(directory, mapped=True)

    assert config == {"v": 1}
    np.testing.assert_array_equal(arrays["a"], np.arange(3))
