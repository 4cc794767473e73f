"""The torch network: item, position and event type embeddings, causal self-attention blocks."""

import math

import torch
from torch import nn

from recommender.ml.nets.sasrec.config import SASRecConfig


class SASRecNet(nn.Module):
    """The network: embeddings, causal self-attention blocks, final LayerNorm."""

    def __init__(self, config: SASRecConfig, text_embeddings: torch.Tensor | None = None) -> None:
        """Builds the layers.

        Args:
            config: Sizes and dropout.
            text_embeddings: (n_items, text_dim) frozen text vectors, required
                when ``config.text_dim`` > 0.
        """
        super().__init__()
        self.config = config
        self.item_embedding = nn.Embedding(config.n_items, config.hidden)
        self.position_embedding = nn.Embedding(config.max_len, config.hidden)
        self.type_embedding = nn.Embedding(config.n_event_types, config.hidden)
        for embedding in (self.item_embedding, self.position_embedding, self.type_embedding):
            nn.init.normal_(embedding.weight, std=0.02)
        self.input_dropout = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(
            nn.TransformerEncoderLayer(
                d_model=config.hidden,
                nhead=config.n_heads,
                dim_feedforward=4 * config.hidden,
                dropout=config.dropout,
                activation="gelu",
                batch_first=True,
                norm_first=True,
            )
            for _ in range(config.n_layers)
        )
        self.final_norm = nn.LayerNorm(config.hidden)
        self.text_projection = None
        if config.text_dim:
            if text_embeddings is None or tuple(text_embeddings.shape) != (
                config.n_items,
                config.text_dim,
            ):
                raise ValueError("text_embeddings must have shape (n_items, text_dim)")
            self.text_projection = nn.Linear(config.text_dim, config.hidden)
            # Saved beside the weights as an array file, not in the state_dict.
            self.register_buffer("text_embeddings", text_embeddings.float(), persistent=False)
            self.register_buffer("has_id_embedding", torch.ones(config.n_items))

    def mark_trained_items(self, items: torch.Tensor) -> None:
        """Keeps id embeddings only for the given items (none with fuse "text"); the others use text alone.

        Has no effect without text features, where every item needs its id vector.

        Args:
            items: Indices of the items seen in training.
        """
        if self.text_projection is not None:
            self.has_id_embedding.zero_()
            if self.config.fuse == "add":
                self.has_id_embedding[items] = 1.0

    def item_representations(self) -> torch.Tensor:
        """Output-side item vectors, shared with the input embedding.

        Returns:
            (n_items, hidden) tensor; row i is item i.
        """
        ids = self.item_embedding.weight
        if self.text_projection is None:
            return ids
        return ids * self.has_id_embedding[:, None] + self.text_projection(self.text_embeddings)

    def item_table(self) -> torch.Tensor:
        """Input lookup table: a zero padding row, then :meth:`item_representations`.

        Returns:
            (n_items + 1, hidden) tensor indexed by stored item index.
        """
        representations = self.item_representations()
        padding = representations.new_zeros(1, representations.shape[1])
        return torch.cat([padding, representations])

    def forward(
        self,
        item_seq: torch.Tensor,
        type_seq: torch.Tensor,
        item_table: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Hidden state after each event.

        Args:
            item_seq: (B, L) stored item indices (item + 1), left-padded with 0, L <= max_len.
            type_seq: (B, L) event type codes (any value at padding).
            item_table: :meth:`item_table`, when the caller already has it.

        Returns:
            (B, L, hidden) tensor; position t summarises events up to t.
        """
        if item_table is None:
            item_table = self.item_table()
        length = item_seq.shape[1]
        positions = torch.arange(
            self.config.max_len - length, self.config.max_len, device=item_seq.device
        )
        hidden = item_table[item_seq] * math.sqrt(self.config.hidden)
        hidden = hidden + self.position_embedding(positions) + self.type_embedding(type_seq)
        hidden = self.input_dropout(hidden)
        mask = _attention_mask(item_seq, self.config.n_heads)
        for block in self.blocks:
            hidden = block(hidden, src_mask=mask)
        return self.final_norm(hidden)


def _attention_mask(item_seq: torch.Tensor, n_heads: int) -> torch.Tensor:
    """Boolean mask, True where attention is blocked: the future and padding.

    A padding position may still see itself, so that no softmax row is empty
    (an empty row gives NaN, which would leak into later blocks).
    """
    length = item_seq.shape[1]
    future = torch.ones(length, length, dtype=torch.bool, device=item_seq.device).triu(1)
    is_padding = item_seq == 0
    if not bool(is_padding.any()):
        return future
    itself = torch.eye(length, dtype=torch.bool, device=item_seq.device)
    blocked = future | (is_padding[:, None, :] & ~itself)
    return blocked.repeat_interleave(n_heads, dim=0)
