"""The admin: the reviewer workbench (the queues, the review screen) and the configuration.

Django's admin autodiscovery imports this module only; it imports every admin module of the app,
including those that live with their concern (the SLA's, the integrations').
"""

from cases.admin import config, queues, review
from cases.integrations import admin as integrations
from cases.sla import admin as sla

__all__ = ["config", "integrations", "queues", "review", "sla"]
