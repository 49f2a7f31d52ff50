"""The SLA (DESIGN §5): business time, the working-day calendar, each case's review clock, the
sweep that acts on due timers, the applicant's ETA, and the SLA configuration screens.

- `business_time`: business-time arithmetic over a calendar (pure: no Django, no ORM);
- `calendar`: the installation's calendar (settings, the `holidays` package, overrides);
- `selectors`: reads: the policy of a case, its clock, elapsed and remaining time, the ETA;
- `clock`: the clock ledger the case services move (start, pause, resume, stop, re-target);
- `sweep`: the periodic pass over due timers (breach, at risk, reminders, auto-close, stale
  claims);
- `admin`: SLA policies, calendar overrides and the configuration history in the admin.
"""
