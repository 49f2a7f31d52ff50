"""Verification cases: the state machine, its services, the SLA, the automatic checks, the
integrations, the reviewer workbench and the applicant portal (see README, "Where things live")."""
