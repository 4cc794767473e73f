from django.core.management.base import BaseCommand, CommandError

from catalog.models import Shop
from merchandising.experiments.rollups import rollups_rebuild


class Command(BaseCommand):
    help = (
        "Recount the rollups the console and experiment reports read (per rail and hour, per event type and hour, "
        "per experiment variant and day) from the stored events, per shop: to fill them for events stored before "
        "they existed or written around the API, after repair_data or an erasure, and to check them. Pages served "
        "are counted when served, not recorded by any event: they are kept."
    )

    def add_arguments(self, parser):
        parser.add_argument("--shop", help="Shop slug (default: every shop).")

    def handle(self, *args, shop, **options):
        shops = Shop.objects.all() if shop is None else Shop.objects.filter(slug=shop)
        if shop is not None and not shops.exists():
            raise CommandError(f"No shop '{shop}'.")
        for shop_row in shops:
            rollups_rebuild(shop=shop_row)
            self.stdout.write(f"{shop_row.slug}: rollups recounted")
