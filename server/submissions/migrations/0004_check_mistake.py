from django.db import migrations, models


def copy_mistakes(apps, schema_editor):
    """Results stored before the column existed keep their mistake id in details only: copy it."""
    CheckResult = apps.get_model("submissions", "CheckResult")
    for result in CheckResult.objects.filter(details__has_key="mistake").only("id", "details").iterator():
        CheckResult.objects.filter(pk=result.pk).update(mistake=str(result.details.get("mistake") or "")[:100])


class Migration(migrations.Migration):

    dependencies = [
        ("submissions", "0003_regrades_history"),
    ]

    operations = [
        migrations.AddField(
            model_name="checkresult",
            name="mistake",
            field=models.CharField(blank=True, db_index=True, max_length=100,
                                   help_text="details['mistake'], the known mistake's stable id, kept to be counted."),
        ),
        migrations.RunPython(copy_mistakes, migrations.RunPython.noop),
    ]
