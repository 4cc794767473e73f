from django.db import migrations, models
from django.utils import timezone


def fail_all_but_one_run_in_flight(apps, schema_editor):
    """Before the constraint: of the runs of a family queued or running at once, the newest stays."""
    ModelVersion = apps.get_model("recommender", "ModelVersion")
    kept = set()
    in_flight = ModelVersion.objects.filter(status__in=["queued", "running"]).order_by("-created_at")
    for version in in_flight.only("pk", "shop_id", "family"):
        if (version.shop_id, version.family) in kept:
            ModelVersion.objects.filter(pk=version.pk).update(
                status="failed", error="A newer run of this family was already queued.", finished_at=timezone.now()
            )
        kept.add((version.shop_id, version.family))


class Migration(migrations.Migration):

    dependencies = [
        ('catalog', '0002_event_indexes_composite_only'),
        ('recommender', '0004_item_embedding_no_vector_index'),
    ]

    operations = [
        migrations.AddField(
            model_name='modelversion',
            name='heartbeat_at',
            field=models.DateTimeField(blank=True, help_text='Last sign of life of the process training it; a run silent past its lease has died.', null=True),
        ),
        migrations.RunPython(fail_all_but_one_run_in_flight, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name='modelversion',
            constraint=models.UniqueConstraint(condition=models.Q(('status__in', ['queued', 'running'])), fields=('shop', 'family'), name='one_run_in_flight_per_family'),
        ),
    ]
