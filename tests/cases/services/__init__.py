"""Tests of cases/services/: every transition, four-eyes, concurrency, configuration."""
