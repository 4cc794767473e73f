from django.core.management.base import BaseCommand, CommandError

from catalog.models import Shop
from catalog.repair import ShopRepair, shop_data_repair
from catalog.validation import ID_RULE, shown


class Command(BaseCommand):
    help = (
        "Find and repair rows written around the API that ingestion would refuse today, per shop. Events dated "
        "outside the window every read keeps to (VITRINE_EVENT_EARLIEST to now plus VITRINE_MAX_CLOCK_SKEW_HOURS) "
        "are deleted, not clamped: their true time is unknown, a clamped one would invent it (a year-1 event "
        "becoming the shopper's first, a year-9999 one their latest and trending), and deleting frees the "
        "event_id for the storefront to send the event again. Events naming another shop's item or shopper are "
        "deleted. Event values that are NaN, infinite or out of range are set to null. Ids an event could not "
        "carry today are reported only: they are the storefront's keys."
    )

    def add_arguments(self, parser):
        parser.add_argument("--shop", help="Shop slug (default: every shop).")
        parser.add_argument("--dry-run", action="store_true", help="Report what would be repaired; change nothing.")

    def handle(self, *args, shop, dry_run, **options):
        shops = Shop.objects.all() if shop is None else Shop.objects.filter(slug=shop)
        if shop is not None and not shops.exists():
            raise CommandError(f"No shop '{shop}'.")
        for shop_row in shops:
            self._print(shop_data_repair(shop=shop_row, dry_run=dry_run))

    def _print(self, report: ShopRepair) -> None:
        slug = report.shop.slug
        deleted, nulled = ("deleted", "set to null") if report.applied else ("would be deleted", "would be set to null")
        earliest, latest = report.window
        self.stdout.write(
            f"{slug}: {report.events_out_of_window} event(s) dated outside {earliest:%Y-%m-%d %H:%M} to "
            f"{latest:%Y-%m-%d %H:%M} UTC: {deleted}"
        )
        self.stdout.write(f"{slug}: {report.events_of_other_shops} event(s) naming another shop's item or shopper: {deleted}")
        self.stdout.write(f"{slug}: {report.values_out_of_range} event value(s) NaN, infinite or out of range: {nulled}")
        for kind, odd in report.odd_ids.items():
            examples = ", ".join(repr(shown(external_id)) for external_id in odd.examples)
            self.stdout.write(f"{slug}: {odd.count} {kind} id(s) not made of {ID_RULE} (reported, not changed): {examples}")
