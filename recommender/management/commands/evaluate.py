from django.core.management.base import BaseCommand

from recommender.evaluation import METRIC_COLUMNS, evaluation_table
from recommender.management.commands.train import train_and_report
from recommender.models import Family


class Command(BaseCommand):
    help = (
        "Train every family and the popularity baseline on the same leave-last-out split, rank the full catalog, "
        "store the metrics with each version and print them as a table. Versions are not promoted unless --promote."
    )

    def add_arguments(self, parser):
        parser.add_argument("--shop", default="default")
        parser.add_argument("--time-limit", type=float, default=None, help="Seconds of sequential-model training.")
        parser.add_argument("--promote", action="store_true", help="Serve the new versions.")

    def handle(self, *args, shop, time_limit, promote, **options):
        versions = train_and_report(self, shop_slug=shop, families=list(Family.values), time_limit=time_limit, promote=promote)
        self.stdout.write(evaluation_table(versions, METRIC_COLUMNS))
