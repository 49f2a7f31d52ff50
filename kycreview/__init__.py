"""The project: settings, URLs, the Celery app (loaded here so that @shared_task binds to it)."""

from kycreview.celery import app as celery_app

__all__ = ["celery_app"]
