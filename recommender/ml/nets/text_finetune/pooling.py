"""Embeddings with gradients, pooled as TextEncoder.encode pools, for the training steps."""


def mean_pool(hidden, mask):
    import torch

    mask = mask.unsqueeze(-1).to(hidden.dtype)
    pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
    return torch.nn.functional.normalize(pooled.float(), dim=-1)


def embed_for_training(encoder, texts: list[str], max_length: int):
    """Mean-pooled, L2-normalised embeddings with gradients, pooled as TextEncoder.encode pools."""

    tokens = encoder.tokenizer(
        texts, padding=True, truncation=True, max_length=max_length, return_tensors="pt"
    ).to(encoder.device)
    hidden = encoder.model(**tokens).last_hidden_state
    return mean_pool(hidden, tokens["attention_mask"])
