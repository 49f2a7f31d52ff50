"""The people: the user model, roles, sign-in with a second factor, and what an applicant does
to their own account."""
