import secrets
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from catalog.importers import DatasetError, dataset_check, dataset_import
from catalog.management.progress import stage_progress
from catalog.models import Event, Item
from catalog.services import api_key_create, shop_get_or_create
from config.env import env_str
from merchandising.services import demo_merchandiser_ensure
from recommender.models import ModelVersion
from recommender.services import training_dispatch


def _kept_secret(name: str, make) -> tuple[str, bool]:
    """A demo secret kept in the data folder, so every `make run` prints the same one."""
    path = settings.DATA_DIR / name
    if path.exists():
        return path.read_text().strip(), False
    value = make()
    path.write_text(value)
    path.chmod(0o600)
    return value, True


class Command(BaseCommand):
    help = "Prepare the demo: the default shop, its data (when the database is empty), a login and an API key."

    def add_arguments(self, parser):
        parser.add_argument("--shop", default="default")
        parser.add_argument("--data", default=settings.VITRINE_DEMO_DATA, help="Dataset folder ($VITRINE_DEMO_DATA).")

    def handle(self, *args, shop, data, **options):
        shop_row = shop_get_or_create(slug=shop, name="Demo shop")
        self._import_when_empty(shop_row, Path(data))
        password, _ = _kept_secret("demo_password", lambda: secrets.token_urlsafe(12))
        demo_merchandiser_ensure(shop=shop_row, username="demo", password=password)
        self._train_when_untrained(shop_row)
        api_key, _ = _kept_secret("demo_api_key", lambda: api_key_create(shop=shop_row, name="demo storefront")[1])
        self.stdout.write(
            "\n"
            f"  Console:  http://{env_str('VITRINE_BIND', '127.0.0.1:8000')}/console/   (Django admin at /admin/, API docs at /api/docs/)\n"
            f"  Login:    demo / {password}\n"
            f"  API key:  {api_key}   (shop '{shop_row.slug}'; send 'Authorization: Token <key>')\n"
        )

    def _train_when_untrained(self, shop) -> None:
        if ModelVersion.objects.filter(shop=shop).exists() or not Event.objects.filter(shop=shop).exists():
            return
        versions = training_dispatch(shop=shop)
        self.stdout.write(
            f"Queued the first training of {', '.join(version.family for version in versions)} on the worker; "
            "on a CPU the sequential model trains within a bounded time (follow it in the console's Models section)."
        )

    def _import_when_empty(self, shop, data: Path) -> None:
        if Item.objects.filter(shop=shop).exists():
            return
        try:
            dataset_check(data)
        except DatasetError as error:
            self.stdout.write(
                f"No demo data ({error}). The shop starts empty; load data with\n"
                f"  .venv/bin/python manage.py import_dataset PATH --shop {shop.slug}\n"
                "or set VITRINE_DEMO_DATA to a dataset folder and run `make run` again."
            )
            return
        self.stdout.write(f"Importing the demo data from {data} …")
        with stage_progress() as progress:
            result = dataset_import(shop=shop, path=data, progress=progress)
        self.stdout.write(f"Imported {result.items_created} items, {result.shoppers} shoppers, {result.events_created} events.")
