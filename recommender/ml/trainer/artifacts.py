"""A fitted model written to its artifact folder, and read back for serving."""

from pathlib import Path

from recommender.ml.registry import load_arrays, save_arrays
from recommender.ml.trainer.families import FINETUNED_TEXT, MF, POPULARITY, SEQUENTIAL, TEXT


def save_model(family: str, model, directory: Path) -> None:
    if family == FINETUNED_TEXT:
        from recommender.ml.nets.text_finetune import save_adapter

        save_adapter(model.encoder, directory, model.config)
        return
    if family == SEQUENTIAL:
        model.save(directory)
        return
    config, arrays = model.to_state()
    save_arrays(directory, config, arrays)


def load_model(family: str, directory: Path, device: str = "cpu"):
    """The family's model, for serving; for FINETUNED_TEXT, the fine-tuned TextEncoder.

    Array models are read-only: their arrays are mapped from the artifact, one copy for every process serving it.
    """
    if family == FINETUNED_TEXT:
        from recommender.ml.nets.text_finetune import load_fine_tuned

        return load_fine_tuned(directory, device=device)
    if family == SEQUENTIAL:
        from recommender.ml.nets.sasrec import SASRecModel

        return SASRecModel.load(directory, device=device)
    classes = _model_classes()
    config, arrays = load_arrays(directory, mapped=True)
    return classes[family].from_state(config, arrays)


def _model_classes() -> dict:
    from recommender.ml.nets.mf import ALSModel
    from recommender.ml.nets.popularity import PopularityModel
    from recommender.ml.nets.text_similarity import TextSimilarityModel

    return {POPULARITY: PopularityModel, MF: ALSModel, TEXT: TextSimilarityModel}
