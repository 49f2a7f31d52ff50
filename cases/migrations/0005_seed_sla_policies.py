"""Default SLA policies (DESIGN §2, §5): the program's review target for low and normal priority,
one day less for high, one day for urgent; at risk at 75 %, a 10-day response window, reminders
after 3 and 7 business days."""

from django.db import migrations

LOW, NORMAL, HIGH, URGENT = 0, 1, 2, 3


def seed(apps, schema_editor):
    db = schema_editor.connection.alias  # the owner's connection, on PostgreSQL
    Program = apps.get_model("cases", "Program")
    SlaPolicy = apps.get_model("cases", "SlaPolicy")
    for program in Program.objects.using(db).all():
        target = program.review_target_days
        for priority, days in (
            (LOW, target),
            (NORMAL, target),
            (HIGH, max(1, target - 1)),
            (URGENT, 1),
        ):
            SlaPolicy.objects.using(db).get_or_create(
                program=program,
                priority=priority,
                defaults={
                    "target_days": days,
                    "at_risk_percent": 75,
                    "response_window_days": 10,
                    "reminder_offsets_days": [3, 7],
                },
            )


def unseed(apps, schema_editor):
    SlaPolicy = apps.get_model("cases", "SlaPolicy")
    SlaPolicy.objects.using(schema_editor.connection.alias).all().delete()


class Migration(migrations.Migration):
    dependencies = [("cases", "0004_sla")]
    operations = [migrations.RunPython(seed, unseed)]
