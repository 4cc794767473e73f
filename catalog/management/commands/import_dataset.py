from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from catalog.importers import DatasetError, dataset_check, dataset_import
from catalog.management.progress import stage_progress
from catalog.services import shop_get_or_create


class Command(BaseCommand):
    help = "Import a dataset folder (the layout of amazon_beauty_5core) into a shop. Rerunning it adds nothing."

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path)
        parser.add_argument("--shop", default="default", help="Shop slug (default: default); created if new.")
        parser.add_argument("--limit-shoppers", type=int, default=None, help="Import only the first N shoppers.")

    def handle(self, *args, path, shop, limit_shoppers, **options):
        try:
            dataset_check(path)
        except DatasetError as error:
            raise CommandError(str(error)) from error
        if limit_shoppers is not None and limit_shoppers < 1:
            raise CommandError("--limit-shoppers must be at least 1.")
        with stage_progress() as progress:
            result = dataset_import(
                shop=shop_get_or_create(slug=shop), path=path, limit_shoppers=limit_shoppers, progress=progress
            )
        self.stdout.write(
            f"Imported into shop '{shop}': {result.items_created} new items, {result.items_updated} updated, "
            f"{result.shoppers} shoppers, {result.events_created} new events "
            f"({result.events_duplicate} already there, {result.rejected} rejected)."
        )
