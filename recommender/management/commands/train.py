import sys

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from catalog.models import Shop
from recommender.models import Family, ModelVersion
from recommender.services import TrainingError, model_version_train, training_versions_abandon, training_versions_create

PERCENT = 100


def train_and_report(command: BaseCommand, *, shop_slug: str, families: list[str], time_limit: float | None, promote: bool) -> list[ModelVersion]:
    shop = Shop.objects.filter(slug=shop_slug).first()
    if shop is None:
        raise CommandError(f"No shop '{shop_slug}'.")
    try:
        versions = training_versions_create(shop=shop, families=families, time_limit_s=time_limit)
    except TrainingError as error:
        raise CommandError(str(error)) from error
    try:
        for version in versions:
            with tqdm(total=PERCENT, desc=version.get_family_display(), file=sys.stderr, unit="%") as bar:

                def echo(fraction: float, message: str) -> None:
                    bar.set_postfix_str(message[:60])
                    bar.update(round(fraction * PERCENT) - bar.n)

                model_version_train(version=version, promote=promote, echo=echo)
            if version.status == ModelVersion.Status.FAILED:
                command.stderr.write(f"{version.family} #{version.pk} failed: {version.error.splitlines()[0]}")
            elif version.budget_note:
                command.stdout.write(version.budget_note)
    finally:
        # Stopped part way (Ctrl-C): the families not reached must not stay queued, refusing the next train.
        training_versions_abandon(versions=versions, error="The train command stopped before this run started.")
    return versions


class Command(BaseCommand):
    help = "Train model families now, in this process, with a progress bar (workers do the same on the train queue)."

    def add_arguments(self, parser):
        parser.add_argument("--shop", default="default")
        parser.add_argument("--family", action="append", choices=Family.values, help="Repeatable; default: every family.")
        parser.add_argument("--time-limit", type=float, default=None, help="Seconds of sequential-model training and of the encoder fine-tune.")

    def handle(self, *args, shop, family, time_limit, **options):
        versions = train_and_report(self, shop_slug=shop, families=family or list(Family.values), time_limit=time_limit, promote=True)
        for version in versions:
            self.stdout.write(f"{version.family:<14} #{version.pk} {version.status} in {version.wall_seconds or 0:.0f} s, NDCG@10 {version.metrics.get('ndcg_10')}")
        if any(version.status == ModelVersion.Status.FAILED for version in versions):
            raise CommandError("Some families failed; the versions serving before keep serving.")
