from django.core.management.base import BaseCommand

from catalog.services import api_key_create, shop_get_or_create


class Command(BaseCommand):
    help = "Create a storefront API key; creates the shop if it is new. The key is the last word printed."

    def add_arguments(self, parser):
        parser.add_argument("name", help="What the key is for, e.g. 'web storefront'.")
        parser.add_argument("--shop", default="default", help="Shop slug (default: default).")

    def handle(self, *args, name, shop, **options):
        shop_row = shop_get_or_create(slug=shop)
        _, raw_key = api_key_create(shop=shop_row, name=name)
        self.stdout.write(f"API key '{name}' for shop '{shop_row.slug}' (shown once): {raw_key}")
