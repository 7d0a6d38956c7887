# LTI 1.3: platforms, deployments, the tool's keys, accounts, linked courses, used nonces, line items, the grade outbox.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('courses', '0005_enrolment_active_preview'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='ToolKey',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kid', models.CharField(max_length=64, unique=True)),
                ('private_pem', models.TextField()),
                ('public_jwk', models.JSONField()),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('signs_from', models.DateTimeField()),
                ('retired_at', models.DateTimeField(blank=True, null=True)),
            ],
            options={
                'ordering': ['-signs_from', '-id'],
            },
        ),
        migrations.CreateModel(
            name='ContextLink',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('context_id', models.CharField(max_length=255)),
                ('title', models.CharField(blank=True, max_length=255)),
                ('lineitems_url', models.CharField(blank=True, max_length=500)),
                ('memberships_url', models.CharField(blank=True, max_length=500)),
                ('roster_synced_at', models.DateTimeField(blank=True, null=True)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('course', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='lti_contexts', to='courses.course')),
            ],
        ),
        migrations.CreateModel(
            name='Identity',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('issuer', models.CharField(max_length=255)),
                ('subject', models.CharField(max_length=255)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='lti_identities', to=settings.AUTH_USER_MODEL)),
            ],
        ),
        migrations.CreateModel(
            name='LineItem',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('url', models.CharField(max_length=500)),
                ('policy', models.CharField(choices=[('automatic', 'As soon as a score changes'), ('after_due', 'After the due date'), ('on_click', 'When I click Send')], default='automatic', max_length=20)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('assignment', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='lti_line_items', to='courses.assignment')),
                ('context', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='line_items', to='lti.contextlink')),
            ],
        ),
        migrations.CreateModel(
            name='GradeSend',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('score', models.FloatField(blank=True, null=True)),
                ('maximum', models.FloatField()),
                ('progress', models.CharField(default='FullyGraded', max_length=20)),
                ('changed_at', models.DateTimeField()),
                ('state', models.CharField(choices=[('pending', 'pending'), ('sending', 'sending'), ('sent', 'sent'), ('failed', 'failed'), ('held', 'held')], default='pending', max_length=10)),
                ('attempts', models.PositiveIntegerField(default=0)),
                ('next_attempt_at', models.DateTimeField(blank=True, null=True)),
                ('claimed_at', models.DateTimeField(blank=True, null=True)),
                ('sent_at', models.DateTimeField(blank=True, null=True)),
                ('sent_version', models.DateTimeField(blank=True, null=True)),
                ('last_error', models.TextField(blank=True)),
                ('identity', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='grade_sends', to='lti.identity')),
                ('line_item', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='sends', to='lti.lineitem')),
            ],
        ),
        migrations.CreateModel(
            name='Platform',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('issuer', models.CharField(max_length=255)),
                ('client_id', models.CharField(max_length=255)),
                ('name', models.CharField(blank=True, max_length=200)),
                ('auth_login_url', models.CharField(help_text="The LMS's OIDC authorisation endpoint.", max_length=500)),
                ('auth_token_url', models.CharField(help_text="The LMS's OAuth2 token endpoint.", max_length=500)),
                ('key_set_url', models.CharField(help_text="The LMS's public keys (JWKS).", max_length=500)),
                ('approved', models.BooleanField(default=False)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('issuer', 'client_id'), name='one_platform_per_client')],
            },
        ),
        migrations.AddField(
            model_name='lineitem',
            name='platform',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='line_items', to='lti.platform'),
        ),
        migrations.CreateModel(
            name='Deployment',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('deployment_id', models.CharField(max_length=255)),
                ('platform', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='deployments', to='lti.platform')),
            ],
        ),
        migrations.AddField(
            model_name='contextlink',
            name='platform',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='contexts', to='lti.platform'),
        ),
        migrations.CreateModel(
            name='UsedNonce',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('issuer', models.CharField(max_length=255)),
                ('nonce', models.CharField(max_length=255)),
                ('used_at', models.DateTimeField(auto_now_add=True, db_index=True)),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('issuer', 'nonce'), name='nonce_used_once')],
            },
        ),
        migrations.AddConstraint(
            model_name='identity',
            constraint=models.UniqueConstraint(fields=('issuer', 'subject'), name='one_account_per_subject'),
        ),
        migrations.AddConstraint(
            model_name='gradesend',
            constraint=models.UniqueConstraint(fields=('line_item', 'identity'), name='one_grade_per_cell'),
        ),
        migrations.AddConstraint(
            model_name='lineitem',
            constraint=models.UniqueConstraint(fields=('platform', 'url'), name='one_line_item_per_url'),
        ),
        migrations.AddConstraint(
            model_name='deployment',
            constraint=models.UniqueConstraint(fields=('platform', 'deployment_id'), name='one_deployment_id'),
        ),
        migrations.AddConstraint(
            model_name='contextlink',
            constraint=models.UniqueConstraint(fields=('platform', 'context_id'), name='one_course_per_context'),
        ),
    ]
