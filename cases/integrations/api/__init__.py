"""The REST API for the wallet backend: /api/v1/ (urls.py), its schema at /api/schema/."""
