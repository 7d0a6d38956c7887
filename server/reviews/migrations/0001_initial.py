# The written answers' models, moved here from submissions: their tables exist already (submissions.0002), so
# this migration changes only Django's state; submissions.0007 removes them from submissions' state.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('courses', '0004_token_expiry'),
        ('submissions', '0006_training_phase'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[
            migrations.CreateModel(
                name='ManualGrade',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('check_id', models.CharField(max_length=100)),
                    ('score', models.FloatField()),
                    ('suggested', models.FloatField()),
                    ('comment', models.TextField(blank=True)),
                    ('created_at', models.DateTimeField(auto_now_add=True)),
                    ('grader', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ('submission', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='manual_grades', to='submissions.submission')),
                ],
                options={
                    'db_table': 'submissions_manualgrade',
                    'ordering': ['submission', 'check_id', '-created_at', '-id'],
                },
            ),
            migrations.CreateModel(
                name='Publication',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('score', models.FloatField()),
                    ('max_score', models.FloatField()),
                    ('published_at', models.DateTimeField(auto_now=True)),
                    ('published_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ('submission', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='publication', to='submissions.submission')),
                ],
                options={
                    'db_table': 'submissions_publication',
                },
            ),
            migrations.CreateModel(
                name='Draft',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('answers', models.JSONField(default=dict)),
                    ('updated_at', models.DateTimeField(auto_now=True)),
                    ('assignment', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='drafts', to='courses.assignment')),
                    ('student', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='drafts', to=settings.AUTH_USER_MODEL)),
                ],
                options={
                    'db_table': 'submissions_draft',
                    'constraints': [models.UniqueConstraint(fields=('assignment', 'student'), name='one_draft_per_student')],
                },
            ),
            migrations.CreateModel(
                name='DuplicateFlag',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('item_id', models.CharField(max_length=20)),
                    ('similarity', models.FloatField(help_text='Share of word 3-grams in common (Jaccard).')),
                    ('created_at', models.DateTimeField(auto_now_add=True)),
                    ('assignment', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='duplicate_flags', to='courses.assignment')),
                    ('other', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='submissions.submission')),
                    ('submission', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='duplicate_flags', to='submissions.submission')),
                ],
                options={
                    'db_table': 'submissions_duplicateflag',
                    'ordering': ['-similarity'],
                    'constraints': [models.UniqueConstraint(fields=('submission', 'other', 'item_id'), name='one_flag_per_pair')],
                },
            ),
            migrations.CreateModel(
                name='WrittenAnswer',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('item_id', models.CharField(max_length=20)),
                    ('text', models.TextField()),
                    ('submission', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='answers', to='submissions.submission')),
                ],
                options={
                    'db_table': 'submissions_writtenanswer',
                    'ordering': ['submission', 'id'],
                    'constraints': [models.UniqueConstraint(fields=('submission', 'item_id'), name='one_answer_per_item')],
                },
            ),
        ], database_operations=[]),
    ]
