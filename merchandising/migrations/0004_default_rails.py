from django.contrib.auth.management import create_permissions
from django.db import migrations

# A frozen copy of homepage.defaults.DEFAULT_RAILS as it was when this migration was written:
# a migration must replay the same way even after the defaults change.
DEFAULT_RAILS = [
    dict(key="campaign", title="{campaign}", kind="campaign", size=8, diversity=0.2,
         max_per_category=None, max_per_brand=None, exploration_share=0.0),
    dict(key="for-you", title="Picked for you", kind="for_you", size=12, diversity=0.3,
         max_per_category=4, max_per_brand=3, exploration_share=0.10),
    dict(key="because-you-viewed", title="Because you viewed {seed}", kind="because_you_viewed", size=10,
         diversity=0.2, max_per_category=None, max_per_brand=4, exploration_share=0.0),
    dict(key="trending", title="Trending now", kind="trending", size=12, diversity=0.5,
         max_per_category=4, max_per_brand=3, exploration_share=0.10),
    dict(key="top-in-category", title="Top picks in {category}", kind="top_in_category", size=10,
         diversity=0.3, max_per_category=None, max_per_brand=3, exploration_share=0.10),
    dict(key="complements", title="Goes well with your cart", kind="complements", size=8, diversity=0.3,
         max_per_category=3, max_per_brand=3, exploration_share=0.0),
    dict(key="new-arrivals", title="New arrivals", kind="new_arrivals", size=12, diversity=0.4,
         max_per_category=4, max_per_brand=3, exploration_share=0.0),
    dict(key="recently-viewed", title="Recently viewed", kind="recently_viewed", size=10, diversity=0.0,
         max_per_category=None, max_per_brand=None, exploration_share=0.0),
]
NEW_MODELS = ["campaign", "rail", "pin", "adjustment", "block"]


def seed_default_rails(apps, schema_editor):
    Shop = apps.get_model("catalog", "Shop")
    Rail = apps.get_model("merchandising", "Rail")
    for shop in Shop.objects.all():
        if Rail.objects.filter(shop=shop).exists():
            continue
        Rail.objects.bulk_create(
            [Rail(shop=shop, position=(number + 1) * 10, **spec) for number, spec in enumerate(DEFAULT_RAILS)]
        )


def grant_rules_to_merchandisers(apps, schema_editor):
    # 0002 gave the merchandiser group every merchandising permission that existed then; the rule
    # models are newer, and their permissions are only created after all migrations, so make them now.
    app_config = apps.get_app_config("merchandising")
    app_config.models_module = True
    create_permissions(app_config, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    rules = Permission.objects.filter(content_type__app_label="merchandising", content_type__model__in=NEW_MODELS)
    for name in ["merchandiser", "admin"]:
        group = Group.objects.filter(name=name).first()
        if group is not None:
            group.permissions.add(*rules)


def remove_default_rails(apps, schema_editor):
    apps.get_model("merchandising", "Rail").objects.filter(key__in=[spec["key"] for spec in DEFAULT_RAILS]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("merchandising", "0003_rails_and_rules"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]
    operations = [
        migrations.RunPython(seed_default_rails, remove_default_rails),
        migrations.RunPython(grant_rules_to_merchandisers, migrations.RunPython.noop),
    ]
