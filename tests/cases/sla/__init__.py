"""Tests of cases/sla/: business time, the clock, the sweep and its worker, the SLA admin."""
