"""`manage.py package_diagram`: the packages of `cases` and the direction of their imports, as a
mermaid flowchart; the README's "Where things live" shows it, and tests/test_architecture.py
checks that the README holds what this prints.

Every module of `cases` belongs to one box of one layer (BOXES); a module no box claims is an
error, so a new module finds its place in the picture when it is added. An arrow A --> B means a
module of A imports a module of B (imports for type checking only are left out). Every box may use
the domain layer: arrows into it are drawn once per layer, not per box.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import grimp
from django.core.management.base import BaseCommand, CommandError


@dataclass(frozen=True)
class Box:
    name: str
    layer: str
    label: str
    prefixes: tuple[str, ...]

    def holds(self, module: str) -> bool:
        return any(module == p or module.startswith(p + ".") for p in self.prefixes)


# Top to bottom: an import points down, or sideways within a layer.
LAYERS = {
    "edges": "Edges: admin, portal, API, tasks, commands",
    "services": "Services: writes, one transaction each",
    "reads": "Reads: selectors",
    "domain": "Domain: models and pure code",
}
BOXES = (
    Box("admin", "edges", "admin: queues, review, catalogue", ("cases.admin",)),
    Box("portal", "edges", "portal: views, forms", ("cases.views", "cases.forms")),
    Box("api", "edges", "integrations.api", ("cases.integrations.api",)),
    Box("integrations_admin", "edges", "integrations.admin", ("cases.integrations.admin",)),
    Box("sla_admin", "edges", "sla.admin", ("cases.sla.admin",)),
    Box("compliance_admin", "edges", "compliance.admin", ("cases.compliance.admin",)),
    Box("files", "edges", "files: serving documents", ("cases.files",)),
    Box("tasks", "edges", "tasks", ("cases.tasks",)),
    Box("commands", "edges", "management commands", ("cases.management",)),
    Box("demo", "edges", "demo", ("cases.demo",)),
    Box("services", "services", "services: intake, review, four_eyes, ...", ("cases.services",)),
    Box("sla_writes", "services", "sla.clock, sla.sweep", ("cases.sla.clock", "cases.sla.sweep")),
    Box(
        "checks_writes",
        "services",
        "checks.run, checks.sanitise",
        ("cases.checks.run", "cases.checks.sanitise"),
    ),
    Box(
        "integrations_writes",
        "services",
        "integrations.webhooks, .applicants",
        ("cases.integrations.webhooks", "cases.integrations.applicants"),
    ),
    Box(
        "compliance_writes",
        "services",
        "compliance.anchors, .verification, .retention, .evidence, .statistics",
        (
            "cases.compliance.anchors",
            "cases.compliance.verification",
            "cases.compliance.retention",
            "cases.compliance.evidence",
            "cases.compliance.statistics",
        ),
    ),
    Box("outbox", "services", "outbox", ("cases.outbox",)),
    Box("enqueue", "services", "enqueue", ("cases.enqueue",)),
    Box("notifications", "services", "notifications", ("cases.notifications",)),
    Box("guards", "services", "guards", ("cases.guards",)),
    Box("audit", "services", "audit", ("cases.audit",)),
    Box("selectors", "reads", "selectors", ("cases.selectors",)),
    Box(
        "sla_reads",
        "reads",
        "sla.selectors, sla.calendar",
        ("cases.sla.selectors", "cases.sla.calendar"),
    ),
    Box("checks_reads", "reads", "checks.findings", ("cases.checks.findings",)),
    Box(
        "compliance_reads",
        "reads",
        "compliance.timeline, .reports",
        ("cases.compliance.timeline", "cases.compliance.reports"),
    ),
    Box("emails", "reads", "emails", ("cases.emails",)),
    Box("models", "domain", "models", ("cases.models",)),
    Box(
        "core",
        "domain",
        "states, rules, actors, errors, validation, display",
        (
            "cases.states",
            "cases.rules",
            "cases.actors",
            "cases.errors",
            "cases.validation",
            "cases.display",
        ),
    ),
    Box("business_time", "domain", "sla.business_time", ("cases.sla.business_time",)),
    Box(
        "chain",
        "domain",
        "compliance.chain, .pdf, .charts",
        ("cases.compliance.chain", "cases.compliance.pdf", "cases.compliance.charts"),
    ),
    Box(
        "pictures",
        "domain",
        "checks.pictures, .pdf_sanitiser",
        ("cases.checks.pictures", "cases.checks.pdf_sanitiser"),
    ),
    Box(
        "storage",
        "domain",
        "crypto, fields, db_triggers, db_roles",
        ("cases.crypto", "cases.fields", "cases.db_triggers", "cases.db_roles"),
    ),
)
# A package's own __init__ (its docstring), the app config and the migrations are not boxes.
NOT_BOXES = frozenset(
    {
        "cases",
        "cases.apps",
        "cases.admin",
        "cases.sla",
        "cases.checks",
        "cases.integrations",
        "cases.compliance",
    }
)


def box_of(module: str) -> Box | None:
    if module in NOT_BOXES or module.startswith("cases.migrations"):
        return None
    # The longest prefix wins: cases.sla.admin is sla.admin's, not a wider box's.
    matches = [box for box in BOXES if box.holds(module)]
    if not matches:
        raise CommandError(
            f"{module} is in no box of the package diagram: add it to BOXES in "
            "cases/management/commands/package_diagram.py."
        )
    return max(matches, key=lambda box: max(len(p) for p in box.prefixes if box.holds(module)))


def box_imports(graph: Any) -> set[tuple[Box, Box]]:
    """(importer's box, imported box) for every import between two boxes of `cases`."""
    found: set[tuple[Box, Box]] = set()
    for module in sorted(graph.find_children("cases") | graph.find_descendants("cases")):
        source = box_of(module)
        if source is None:
            continue
        for imported in graph.find_modules_directly_imported_by(module):
            if imported.split(".")[0] != "cases":
                continue
            target = box_of(imported)
            if target is not None and target != source:
                found.add((source, target))
    return found


def mermaid(arrows: Iterable[tuple[Box, Box]]) -> str:
    layers = list(LAYERS)
    lines = ["flowchart TB"]
    for layer, title in LAYERS.items():
        lines.append(f'    subgraph layer_{layer}["{title}"]')
        lines += [f'        {b.name}["{b.label}"]' for b in BOXES if b.layer == layer]
        lines.append("    end")
    into_domain: set[str] = set()
    for source, target in sorted(arrows, key=lambda a: (BOXES.index(a[0]), BOXES.index(a[1]))):
        if target.layer == "domain" and source.layer != "domain":
            into_domain.add(source.layer)
            continue
        lines.append(f"    {source.name} --> {target.name}")
    lines += [f"    layer_{layer} --> layer_domain" for layer in layers if layer in into_domain]
    return "\n".join(lines) + "\n"


def upward(arrows: Iterable[tuple[Box, Box]]) -> list[tuple[Box, Box]]:
    """The arrows that point to a higher layer (the layer contracts forbid them)."""
    rank = {layer: i for i, layer in enumerate(LAYERS)}
    return [(s, t) for s, t in arrows if rank[t.layer] < rank[s.layer]]


def import_graph() -> Any:
    return grimp.build_graph("cases", exclude_type_checking_imports=True, cache_dir=None)


class Command(BaseCommand):
    help = "Print the packages of `cases` and the direction of their imports (mermaid)."

    def handle(self, *args: Any, **options: Any) -> None:
        arrows = box_imports(import_graph())
        wrong = upward(arrows)
        if wrong:
            raise CommandError(
                "Imports point up a layer: "
                + ", ".join(f"{s.name} --> {t.name}" for s, t in sorted(wrong, key=str))
            )
        self.stdout.write(mermaid(arrows), ending="")
