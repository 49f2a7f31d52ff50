"""The `manage.py` commands of the cases app, one module each (README, "Management commands")."""
