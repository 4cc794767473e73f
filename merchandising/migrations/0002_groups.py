from django.contrib.auth.management import create_permissions
from django.db import migrations

CONSOLE_APPS = {"merchandising"}
VIEW_ONLY_APPS = {"catalog"}


def create_groups(apps, schema_editor):
    # Permissions are normally created after all migrations; the groups need them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    admin_group, _ = Group.objects.get_or_create(name="admin")
    admin_group.permissions.set(Permission.objects.all())
    merchandiser, _ = Group.objects.get_or_create(name="merchandiser")
    merchandiser.permissions.set(
        Permission.objects.filter(content_type__app_label__in=CONSOLE_APPS)
        | Permission.objects.filter(content_type__app_label__in=VIEW_ONLY_APPS, codename__startswith="view_")
    )


def remove_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=["admin", "merchandiser"]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("merchandising", "0001_initial"),
        ("catalog", "0001_initial"),
        ("recommender", "0001_vector_extension"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]
    operations = [migrations.RunPython(create_groups, remove_groups)]
