"""Tests of cases/admin/: the queues and the review screen."""
