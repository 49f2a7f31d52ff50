"""`manage.py issue_enrolment_code`."""
