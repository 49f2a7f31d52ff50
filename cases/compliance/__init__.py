"""Compliance (DESIGN §7): the audit chain's format, signed anchors of the chain heads outside the
database, and the verification that compares the two.

- `chain`: the chain's format in plain Python, shipped in evidence packs as their verifier;
- `anchors`: signing the heads into an append-only store, reading and checking anchors;
- `verification`: every chain against the anchors, its recorded runs and their alerts.
"""
