"""The signals catalog sends to the apps that follow it, which it knows nothing of (its own receivers, and theirs,
connect in catalog.receivers and in each app's receivers module)."""

from django.dispatch import Signal

# Sent by catalog.services.event_batch_ingest inside the transaction that stored the events, with `shop` and
# `event_ids` (the pks of the rows this batch inserted; a resent event is in no batch twice). Receivers add
# them to their rollups in that transaction, so a rollup commits with its events or not at all. catalog
# imports none of its listeners beyond its own: merchandising connects its experiment rollups when ready.
events_stored = Signal()
# Sent by catalog.services.shopper_erase with `shop` and `shopper`, in its transaction, before the shopper's rows
# go: a rollup that counts them apart from their events takes them out.
shopper_erasing = Signal()
# Sent with `shop` once items of the shop were written (with `item_pks`, those whose content changed), or their
# vectors (by the recommender, with no pks): every process's snapshot of its catalog is stale.
items_changed = Signal()
# Sent with `shop` and `queries` (the distinct search words of a stored batch) once the batch committed.
shoppers_searched = Signal()
# Sent with `shop` and `opt_outs` (external id to opt-out flag) after a batch of these shoppers' events was stored.
shoppers_acted = Signal()
# Sent with `shop` and `shopper` when what is cached from the shopper's history must go (an opt-out, an
# erasure): at once, and again once the change commits.
shopper_history_dropped = Signal()
