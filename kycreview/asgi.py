"""The ASGI entry point (the project is served by WSGI; this is for completeness)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kycreview.settings")
application = get_asgi_application()
