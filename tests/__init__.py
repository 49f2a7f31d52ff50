"""The test suite: `make test` runs it (pytest, pytest-django)."""
