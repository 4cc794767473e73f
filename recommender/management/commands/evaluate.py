from django.core.management.base import BaseCommand

from recommender.evaluation import METRIC_COLUMNS, cold_start_table, evaluation_table, new_shopper_table
from recommender.management.commands.train import train_and_report
from recommender.models import Family


class Command(BaseCommand):
    help = (
        "Train every family and the popularity baseline on the same leave-last-out split, rank the full catalog, "
        "store the metrics with each version and print them as tables: every shopper, shoppers known by one or two "
        "events, and items held out of training (cold start). Versions are not promoted unless --promote."
    )

    def add_arguments(self, parser):
        parser.add_argument("--shop", default="default")
        parser.add_argument("--time-limit", type=float, default=None, help="Seconds of sequential-model training and of the encoder fine-tune.")
        parser.add_argument("--promote", action="store_true", help="Serve the new versions.")

    def handle(self, *args, shop, time_limit, promote, **options):
        versions = train_and_report(self, shop_slug=shop, families=list(Family.values), time_limit=time_limit, promote=promote)
        self.stdout.write(evaluation_table(versions, METRIC_COLUMNS))
        self.stdout.write("\nShoppers known by one or two events (their last ones before the target):\n")
        self.stdout.write(new_shopper_table(versions))
        cold = cold_start_table(versions)
        if cold:
            self.stdout.write("\n" + cold)
