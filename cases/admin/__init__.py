"""The admin: the reviewer workbench (the queues, the review screen) and the catalogue.

Django's admin autodiscovery imports this package; the admins that live with their concern
(cases/sla/admin.py, cases/integrations/admin.py) are found by kycreview/apps.py.
"""

from cases.admin import config, queues, review

__all__ = ["config", "queues", "review"]
