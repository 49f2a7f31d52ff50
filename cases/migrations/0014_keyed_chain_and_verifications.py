"""The keyed audit chain (each event names its key; "" for the plain SHA-256 of older events),
the record of chain verifications, and append-only triggers on the access log and the
configuration changes too."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def install(apps, schema_editor):
    from cases.db_triggers import install_audit_triggers

    install_audit_triggers(schema_editor.connection)


class Migration(migrations.Migration):

    dependencies = [
        ('cases', '0013_document_hash_index'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='caseevent',
            name='key_id',
            field=models.CharField(blank=True, default='', max_length=40),
        ),
        migrations.CreateModel(
            name='ChainVerification',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('started_at', models.DateTimeField(verbose_name='started')),
                ('finished_at', models.DateTimeField(verbose_name='finished')),
                ('cases_checked', models.PositiveIntegerField(default=0, verbose_name='cases checked')),
                ('events_checked', models.PositiveBigIntegerField(default=0, verbose_name='events checked')),
                ('anchors_checked', models.PositiveIntegerField(default=0, verbose_name='anchors checked')),
                ('anchor_name', models.CharField(blank=True, max_length=100, verbose_name='latest anchor')),
                ('anchored_at', models.DateTimeField(blank=True, null=True, verbose_name='latest anchor written')),
                ('ok', models.BooleanField(verbose_name='intact')),
                ('problems', models.JSONField(blank=True, default=list, verbose_name='problems')),
                ('alerted_at', models.DateTimeField(blank=True, null=True, verbose_name='alert sent')),
                ('requested_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='requested by')),
            ],
            options={
                'verbose_name': 'audit trail verification',
                'verbose_name_plural': 'audit trail verifications',
                'ordering': ('-started_at', '-pk'),
            },
        ),
        migrations.RunPython(install, migrations.RunPython.noop),
    ]
