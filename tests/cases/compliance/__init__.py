"""Tests of cases/compliance/: the chain format, the anchors and the verification."""
