"""The admin: the reviewer workbench (queues, the review screen) and the configuration."""

from cases.admin import config, webhooks, workbench

__all__ = ["config", "webhooks", "workbench"]
