"""The admin site of this project: Django's admin behind the second-factor sign-in, which also
finds the admin modules that live with their concern (cases/sla/admin.py,
cases/integrations/admin.py, cases/compliance/admin.py)."""

from django.contrib.admin.apps import AdminConfig
from django.utils.module_loading import autodiscover_modules

# Besides each app's `admin` module: the admins of the concern packages inside an app.
CONCERN_ADMIN_MODULES = ("sla.admin", "integrations.admin", "compliance.admin")


class KycAdminConfig(AdminConfig):
    """The admin with the second-factor sign-in (accounts/two_factor.py)."""

    default_site = "accounts.two_factor.KycAdminSite"

    def ready(self) -> None:
        from django.contrib import admin

        super().ready()
        autodiscover_modules(*CONCERN_ADMIN_MODULES, register_to=admin.site)
