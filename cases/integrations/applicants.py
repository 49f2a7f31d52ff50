"""The applicants an integration creates: the user behind each of the wallet's external ids."""

from __future__ import annotations

from uuid import uuid4

from django.contrib.auth.models import Group
from django.db import IntegrityError, transaction

from accounts.models import User
from accounts.roles import Role
from cases.models import ExternalApplicant, Integration


def integration_applicant(*, integration: Integration, external_id: str) -> User:
    """The user who owns this external applicant's cases, made on first use. They never sign in
    and get no e-mail (the `.invalid` domain, which sign-up refuses): the wallet tells its users,
    from our webhooks. Two first requests at once end with the same user.

    Side effects: on first use, a User in the applicant role and its ExternalApplicant link.
    """
    link = ExternalApplicant.objects.filter(
        integration=integration, external_id=external_id
    ).first()
    if link is not None:
        return link.user
    try:
        with transaction.atomic():
            user = User.objects.create_user(
                email=f"ext-{uuid4().hex}@{integration.name}.integration.invalid"
            )
            user.set_unusable_password()
            user.save(update_fields=["password"])
            user.groups.add(Group.objects.get(name=Role.APPLICANT))
            ExternalApplicant.objects.create(
                integration=integration, external_id=external_id, user=user
            )
            return user
    except IntegrityError:
        return ExternalApplicant.objects.get(integration=integration, external_id=external_id).user
