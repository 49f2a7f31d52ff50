"""Tests of cases/checks/: the automatic checks and the upload pipeline."""
