"""Tests of cases/integrations/: webhooks and the wallet's API."""
