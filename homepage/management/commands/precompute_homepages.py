from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from catalog.management.progress import stage_progress
from catalog.models import Shop
from homepage.services import homepages_precompute


class Command(BaseCommand):
    help = (
        "Compose and cache the homepages of the shop's most recently active shoppers, as the worker does every "
        "10 minutes, so their next visit is served from the cache. Pages still cached are left as they are."
    )

    def add_arguments(self, parser):
        parser.add_argument("--shop", default="default")
        parser.add_argument("--days", type=int, default=settings.VITRINE_PRECOMPUTE_DAYS, help="Active within this many days.")
        parser.add_argument("--limit", type=int, default=settings.VITRINE_PRECOMPUTE_SHOPPERS, help="At most this many shoppers.")

    def handle(self, *args, shop, days, limit, **options):
        found = Shop.objects.filter(slug=shop).first()
        if found is None:
            raise CommandError(f"No shop '{shop}'. Shops: {', '.join(Shop.objects.values_list('slug', flat=True)) or 'none'}.")
        if days < 1 or limit < 1:
            raise CommandError("--days and --limit must be at least 1.")
        with stage_progress() as progress:
            count = homepages_precompute(shop=found, days=days, limit=limit, progress=progress)
        self.stdout.write(f"Cached the homepages of {count} shoppers of '{shop}'.")
