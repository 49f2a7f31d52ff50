"""Create the role groups with their permissions (DESIGN §8)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

ROLE_PERMISSIONS = {
    "applicant": ["apply_for_verification"],
    "reviewer": ["review_case", "view_case", "view_document", "view_caseevent"],
    "senior_reviewer": [
        "review_case", "countersign_case", "view_case", "view_document", "view_caseevent",
    ],
    "supervisor": [
        "review_case", "countersign_case", "assign_case", "unfreeze_case", "close_case",
        "view_all_cases", "export_case", "configure_programs", "view_case", "view_document",
        "view_caseevent", "view_reasoncode", "change_reasoncode", "view_program", "change_program",
    ],
    "auditor": [
        "view_all_cases", "export_case", "view_case", "view_document", "view_caseevent",
        "view_reasoncode", "view_program",
    ],
}


def create_roles(apps, schema_editor):
    db = schema_editor.connection.alias  # the owner's connection, on PostgreSQL
    # Permissions are normally created after all migrations; the groups need them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0, using=db)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, codenames in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.using(db).get_or_create(name=role)
        perms = Permission.objects.using(db).filter(
            content_type__app_label="cases", codename__in=codenames
        )
        missing = set(codenames) - set(perms.values_list("codename", flat=True))
        if missing:
            raise RuntimeError(f"Permissions missing for role {role}: {sorted(missing)}")
        group.permissions.set(perms)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("cases", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]
    operations = [migrations.RunPython(create_roles, migrations.RunPython.noop)]
