"""Refuse UPDATE and DELETE on the case-event table at the database level."""

from django.db import migrations


def install(apps, schema_editor):
    from cases.db_triggers import install_audit_triggers

    install_audit_triggers(schema_editor.connection)


def uninstall(apps, schema_editor):
    from cases.db_triggers import drop_audit_triggers

    drop_audit_triggers(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("cases", "0002_seed_programs_and_reasons")]
    operations = [migrations.RunPython(install, uninstall)]
