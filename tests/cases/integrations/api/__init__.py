"""Tests of the REST API (cases/integrations/api/)."""
