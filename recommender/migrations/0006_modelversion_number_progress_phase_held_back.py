from django.db import migrations, models


def number_versions_per_family(apps, schema_editor):
    """Number each shop's versions of a family 1, 2, 3… in the order they were queued."""
    ModelVersion = apps.get_model("recommender", "ModelVersion")
    counters: dict[tuple[int, str], int] = {}
    for version in ModelVersion.objects.order_by("created_at", "pk").only("pk", "shop_id", "family"):
        key = (version.shop_id, version.family)
        counters[key] = counters.get(key, 0) + 1
        ModelVersion.objects.filter(pk=version.pk).update(number=counters[key])


class Migration(migrations.Migration):

    dependencies = [
        ('recommender', '0005_modelversion_heartbeat_one_run_in_flight'),
    ]

    operations = [
        migrations.AddField(
            model_name='modelversion',
            name='number',
            field=models.PositiveIntegerField(editable=False, null=True),
        ),
        migrations.RunPython(number_versions_per_family, migrations.RunPython.noop),
        migrations.AlterField(
            model_name='modelversion',
            name='number',
            field=models.PositiveIntegerField(editable=False, help_text='1, 2, 3… per shop and family, in the order the runs were queued.'),
        ),
        migrations.AddConstraint(
            model_name='modelversion',
            constraint=models.UniqueConstraint(fields=('shop', 'family', 'number'), name='one_number_per_version_of_a_family'),
        ),
        migrations.AddField(
            model_name='modelversion',
            name='progress_phase',
            field=models.CharField(blank=True, choices=[('loading', 'Loading events'), ('building', 'Building data'), ('training', 'Training'), ('evaluating', 'Evaluating'), ('saving', 'Saving'), ('publishing', 'Publishing')], max_length=16),
        ),
        migrations.AddField(
            model_name='modelversion',
            name='progress_done_at',
            field=models.DateTimeField(blank=True, help_text='When the run should end, estimated from its progress so far; empty until it can tell.', null=True),
        ),
        migrations.AddField(
            model_name='modelversion',
            name='held_back',
            field=models.CharField(blank=True, help_text='Why a succeeded version did not start serving on its own: it waits for a person.', max_length=300),
        ),
    ]
