"""The model families the trainer fits, by the names the registry and the benchmarks use."""

POPULARITY, MF, TEXT, SEQUENTIAL = "popularity", "mf", "text", "sequential"
# The families that score shoppers. FINETUNED_TEXT scores nobody: it is the text encoder, fine-tuned on
# the shop's co-engagement, whose item vectors the text and sequential families then read.
FAMILIES = (POPULARITY, MF, TEXT, SEQUENTIAL)
FINETUNED_TEXT = "finetuned_text"
