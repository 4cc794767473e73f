"""Artifact storage for trained models: one folder per shop, family and version.

An artifact folder holds a ``config.json`` and array files. Every write goes
to a hidden temporary folder beside the target and is renamed into place at
the end, so a run killed midway never leaves a folder that looks complete.
"""

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

CONFIG_FILE = "config.json"
# One .npy file per array, so that serving processes can map them and share one copy in memory.
ARRAYS_FOLDER = "arrays"
ARRAYS_FILE = "arrays.npz"  # how artifacts stored their arrays before; still read


def artifact_dir(root: str | Path, shop_slug: str, family: str, version_id: int | str) -> Path:
    """Returns the folder of one model version, creating its parents.

    Args:
        root: Folder that holds every shop's artifacts.
        shop_slug: The shop's slug.
        family: Model family name, e.g. "popularity", "mf", "sasrec".
        version_id: The model version's id.

    Returns:
        ``root/shop_slug/family/version_id``, which exists on return.
    """
    directory = Path(root) / shop_slug / family / str(version_id)
    directory.mkdir(parents=True, exist_ok=True)
    return directory


@contextmanager
def atomic_directory(directory: str | Path) -> Iterator[Path]:
    """Yields a temporary folder that replaces ``directory`` when the block ends.

    If the block raises, the temporary folder is deleted and ``directory`` is
    left as it was.

    Args:
        directory: The folder to (re)write.

    Yields:
        A fresh empty folder on the same filesystem as ``directory``.
    """
    target = Path(directory)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        yield staging
        _replace_directory(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _replace_directory(source: Path, target: Path) -> None:
    # rename() cannot replace a non-empty folder, so an old one moves aside first.
    if target.exists():
        retired = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
        os.replace(target, retired / target.name)
        os.replace(source, target)
        shutil.rmtree(retired, ignore_errors=True)
    else:
        os.replace(source, target)


def save_arrays(directory: str | Path, config: dict, arrays: dict[str, np.ndarray]) -> None:
    """Writes a JSON config and named arrays into ``directory``, atomically.

    Args:
        directory: Artifact folder; replaced as a whole if it exists.
        config: JSON-serialisable settings of the model.
        arrays: Numeric arrays by name (object arrays are refused: no pickle).

    Raises:
        ValueError: An array holds Python objects.
    """
    with atomic_directory(directory) as staging:
        (staging / CONFIG_FILE).write_text(json.dumps(config, indent=2, sort_keys=True))
        folder = staging / ARRAYS_FOLDER
        folder.mkdir()
        for name, array in arrays.items():
            np.save(folder / f"{name}.npy", np.asarray(array), allow_pickle=False)


def load_arrays(directory: str | Path, *, mapped: bool = False) -> tuple[dict, dict[str, np.ndarray]]:
    """Reads what :func:`save_arrays` wrote.

    Args:
        directory: Artifact folder.
        mapped: Map the arrays read-only rather than read them: every process that maps one artifact
            shares one copy in memory (and in the CPU's cache). Artifacts stored as one .npz file are read.

    Returns:
        The config dict and the arrays by name.
    """
    directory = Path(directory)
    config = json.loads((directory / CONFIG_FILE).read_text())
    folder = directory / ARRAYS_FOLDER
    if folder.is_dir():
        mode = "r" if mapped else None
        arrays = {path.stem: np.load(path, mmap_mode=mode, allow_pickle=False) for path in sorted(folder.glob("*.npy"))}
    else:
        with np.load(directory / ARRAYS_FILE, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
    return config, arrays
