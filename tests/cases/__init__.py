"""Tests of the cases app; the folders mirror its packages."""
