"""Tests of cases/demo/: the demo data of `make run`."""
