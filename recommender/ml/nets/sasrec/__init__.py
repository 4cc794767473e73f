"""SASRec-style sequential recommender: a causal transformer over a shopper's events.

Sequences hold item indices 0..n_items-1. Inside the network item ``i`` is
stored as ``i + 1`` so that 0 can pad sequences on the left; positions are
counted from the right end, so a history gets the same positions however
much padding its batch needs, and padding is masked out of attention.

Each item's vector is a learned id embedding plus, when text embeddings are
given, a linear projection of the item's frozen text embedding. Items that
never occur in the training sequences keep only the text part, so a new item
scores by its resemblance to known ones instead of by an untrained id vector.
The same vectors embed the input events and score the next item (tied
weights), with a softmax over the whole catalog.
"""

from recommender.ml.nets.sasrec.config import SASRecConfig
from recommender.ml.nets.sasrec.model import SASRecModel

__all__ = ["SASRecConfig", "SASRecModel"]
