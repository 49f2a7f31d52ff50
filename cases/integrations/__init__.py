"""The wallet backend's side (DESIGN §1): the REST API, the applicants integrations create, the
signed webhooks we send them, and the admin of their keys and subscriptions.

- `api/`: the REST API v1 (auth, one error shape, serializers, views, urls, OpenAPI schema);
- `applicants`: the user behind an integration's external applicant id;
- `webhooks`: webhook rows for the outbox, signing, delivery, the retry sweep, redelivery;
- `admin`: integrations, API keys, webhook subscriptions and the delivery log in the admin.
"""
