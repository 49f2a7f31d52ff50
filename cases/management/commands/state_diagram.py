"""Print the case state graph, read from the django-fsm-2 transitions declared on Case.

The README embeds the Mermaid output and tests/test_readme.py compares the two, so the diagram a
newcomer reads is always the graph the code enforces.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _
from django_fsm import State

from cases.models import Case
from cases.states import CaseState

STATE_ORDER = [str(state.value) for state in CaseState]


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    name: str


def _states(value: Any, *, wildcard_target: str | None = None) -> list[str]:
    """One transition end as concrete state values ("*" and "+" expanded)."""
    if value == "*":
        return list(STATE_ORDER)
    if value == "+":
        return [state for state in STATE_ORDER if state != wildcard_target]
    if isinstance(value, State):
        # RETURN_VALUE / GET_STATE: the diagram can only show the declared possibilities.
        allowed = [str(state) for state in value.allowed_states]
        if not allowed:
            raise CommandError(_("A transition has a computed target without a list of states."))
        return allowed
    return [str(value)]


def _position(state: str) -> int:
    try:
        return STATE_ORDER.index(state)
    except ValueError as exc:
        raise CommandError(
            _("The state %(state)s is not in CaseState.") % {"state": state}
        ) from exc


def case_state_edges() -> list[Edge]:
    """Every (source, target, transition) of Case.state, ordered by source state (in CaseState
    order), then transition name, then target state. Reads class metadata only."""
    edges: set[Edge] = set()
    for transition in Case._meta.get_field("state").get_all_transitions(Case):
        targets = _states(transition.target) if transition.target is not None else None
        for source in _states(transition.source):
            for target in targets or [source]:  # target None: the state does not change
                edges.add(Edge(source, target, transition.name))
    return sorted(edges, key=lambda e: (_position(e.source), e.name, _position(e.target)))


def initial_state() -> str:
    return str(Case._meta.get_field("state").get_default())


def final_states(edges: list[Edge]) -> list[str]:
    """States no transition leaves (a self-loop does not count as leaving)."""
    leaving = {edge.source for edge in edges if edge.source != edge.target}
    reached = {edge.target for edge in edges} | {initial_state()}
    return [state for state in STATE_ORDER if state in reached and state not in leaving]


def render_mermaid(edges: list[Edge]) -> str:
    lines = [
        "stateDiagram-v2",
        "    %% Generated from cases.models.Case by `python manage.py state_diagram`.",
        f"    [*] --> {initial_state()}",
    ]
    lines += [f"    {edge.source} --> {edge.target}: {edge.name}" for edge in edges]
    lines += [f"    {state} --> [*]" for state in final_states(edges)]
    return "\n".join(lines) + "\n"


def render_dot(edges: list[Edge]) -> str:
    lines = [
        "// Generated from cases.models.Case by `python manage.py state_diagram --format dot`.",
        "digraph case_state {",
        "    rankdir=LR;",
        "    node [shape=box, style=rounded];",
        '    __start [shape=point, label=""];',
        f'    __start -> "{initial_state()}";',
    ]
    lines += [f'    "{e.source}" -> "{e.target}" [label="{e.name}"];' for e in edges]
    for state in final_states(edges):
        lines.append(f'    "{state}" [peripheries=2];')
    lines.append("}")
    return "\n".join(lines) + "\n"


class Command(BaseCommand):
    help = _(
        "Print the case state diagram generated from the transitions declared on Case "
        "(Mermaid stateDiagram-v2 by default, or Graphviz dot)."
    )
    requires_system_checks: list[str] = []
    requires_migrations_checks = False

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--format",
            choices=["mermaid", "dot"],
            default="mermaid",
            help=_("Output format (default: mermaid)."),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        """Writes the diagram to stdout; touches no database."""
        edges = case_state_edges()
        render = render_dot if options["format"] == "dot" else render_mermaid
        self.stdout.write(render(edges), ending="")
