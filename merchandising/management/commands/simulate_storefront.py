from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from catalog.services import api_key_authenticate
from config.env import env_str
from merchandising.experiments.simulator import (
    DEFAULT_HOLDOUT,
    Simulation,
    SimulationRefused,
    effects_parse,
    preference_model_load,
    rate_parse,
)


class Command(BaseCommand):
    help = (
        "Play shoppers of the demo data against the storefront API: pages fetched, then clicked and bought by "
        "their held-out items' preferences, the events sent back. Stops by itself and prints what each variant got."
    )

    def add_arguments(self, parser):
        parser.add_argument("--shop", default="default", help="Slug of the shop the key belongs to (default: default).")
        parser.add_argument("--rate", default="20/s", help="Visits (a page and its events) per s, min or hour (default 20/s).")
        parser.add_argument("--minutes", type=float, default=10.0, help="How long to run (default 10).")
        parser.add_argument("--effect", action="append", default=[], metavar="VARIANT=+N%",
                            help="Multiply the click probability on pages of this variant, e.g. b=+10%%; repeatable.")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--url", default=f"http://{env_str('VITRINE_BIND', '127.0.0.1:8000')}")
        parser.add_argument("--key", default=None, help="Storefront API key, written --key=KEY since a key may start with a dash (default: the demo key `make run` printed).")
        parser.add_argument("--data", default=settings.VITRINE_DEMO_DATA, help="Dataset folder ($VITRINE_DEMO_DATA).")
        parser.add_argument("--holdout", type=int, default=DEFAULT_HOLDOUT, help="Last items of each sequence a shopper likes.")
        parser.add_argument("--workers", type=int, default=4, help="Visits in flight at once (default 4).")
        parser.add_argument("--impressions", action="store_true", help="Also send an impression event per item shown.")

    def handle(self, *args, shop, rate, minutes, effect, seed, url, key, data, holdout, workers, impressions, **options):
        try:
            visits_per_s, effects = rate_parse(rate), effects_parse(effect)
        except ValueError as error:
            raise CommandError(str(error)) from error
        key = key or self._demo_key()
        api_key = api_key_authenticate(raw_key=key)
        if api_key is None or api_key.shop.slug != shop:
            raise CommandError(f"That key is not a key of the shop '{shop}'.")
        path = Path(data)
        if not (path / "sequences.txt").exists():
            raise CommandError(f"No dataset at {path}: pass --data or set VITRINE_DEMO_DATA.")
        model = preference_model_load(path, holdout=holdout)
        self.stdout.write(
            f"Playing {len(model.shoppers)} shoppers at {visits_per_s:g} visits/s for {minutes:g} min against {url}"
            + (f", effects {', '.join(f'{k} ×{v:g}' for k, v in effects.items())}" if effects else "")
        )
        simulation = Simulation(
            url=url, key=key, model=model, rate=visits_per_s, seconds=minutes * 60, effects=effects, seed=seed,
            workers=workers, impressions=impressions, progress=lambda summary: self.stdout.write(summary.table()),
        )
        try:
            summary = simulation.run()
        except SimulationRefused as refusal:
            raise CommandError(str(refusal)) from refusal
        self.stdout.write(summary.table())

    def _demo_key(self) -> str:
        path = settings.DATA_DIR / "demo_api_key"
        if not path.exists():
            raise CommandError("No --key and no demo key: run `make run` (or `manage.py setup_demo`) once, or pass --key.")
        return path.read_text().strip()
