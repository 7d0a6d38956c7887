# The written answers' models moved to the reviews app (reviews.0001): Django's state forgets them here, the tables
# stay as they are, and the content types (and so the admin's permissions) follow them.

from django.db import migrations

MOVED = ("draft", "duplicateflag", "manualgrade", "publication", "writtenanswer")


def _move(apps, source: str, target: str):
    ContentType = apps.get_model("contenttypes", "ContentType")
    taken = set(ContentType.objects.filter(app_label=target, model__in=MOVED).values_list("model", flat=True))
    ContentType.objects.filter(app_label=source, model__in=set(MOVED) - taken).update(app_label=target)


def _content_types_follow(apps, schema_editor):
    _move(apps, "submissions", "reviews")


def _content_types_return(apps, schema_editor):
    _move(apps, "reviews", "submissions")


class Migration(migrations.Migration):

    dependencies = [
        ('contenttypes', '0002_remove_content_type_name'),
        ('submissions', '0006_training_phase'),
        ('reviews', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[
            migrations.RemoveField(
                model_name='duplicateflag',
                name='assignment',
            ),
            migrations.RemoveField(
                model_name='duplicateflag',
                name='other',
            ),
            migrations.RemoveField(
                model_name='duplicateflag',
                name='submission',
            ),
            migrations.RemoveField(
                model_name='manualgrade',
                name='grader',
            ),
            migrations.RemoveField(
                model_name='manualgrade',
                name='submission',
            ),
            migrations.RemoveField(
                model_name='publication',
                name='published_by',
            ),
            migrations.RemoveField(
                model_name='publication',
                name='submission',
            ),
            migrations.RemoveField(
                model_name='writtenanswer',
                name='submission',
            ),
            migrations.DeleteModel(
                name='Draft',
            ),
            migrations.DeleteModel(
                name='DuplicateFlag',
            ),
            migrations.DeleteModel(
                name='ManualGrade',
            ),
            migrations.DeleteModel(
                name='Publication',
            ),
            migrations.DeleteModel(
                name='WrittenAnswer',
            ),
        ], database_operations=[]),
        migrations.RunPython(_content_types_follow, _content_types_return),
    ]
