"""The README cannot drift from the code: its state diagram is the generated one, and every
environment variable settings.py reads is documented (and nothing it no longer reads)."""

from __future__ import annotations

import ast
import re
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from tests.helpers import readme_mermaid_block, readme_text

START, END = "<!-- state-diagram:start -->", "<!-- state-diagram:end -->"

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = ROOT / "kycreview" / "settings.py"

ENV_READERS = {"env", "env_bool", "env_list", "secret"}
CONFIG_HEADING = "## Configuration"


def state_diagram(*args: str) -> str:
    out = StringIO()
    call_command("state_diagram", *args, stdout=out)
    return out.getvalue()


def settings_variables() -> set[str]:
    """Names passed as the first argument to env(), env_bool(), env_list(), secret() and
    os.environ.get() in settings.py."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(SETTINGS.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        func = node.func
        is_reader = isinstance(func, ast.Name) and func.id in ENV_READERS
        is_environ_get = (
            isinstance(func, ast.Attribute)
            and func.attr == "get"
            and isinstance(func.value, ast.Attribute)
            and func.value.attr == "environ"
        )
        first = node.args[0]
        if (is_reader or is_environ_get) and isinstance(first, ast.Constant):
            names.add(str(first.value))
    return names


def readme_config_rows() -> set[str]:
    """Variables that have their own table row (`| `NAME` | default | meaning |`) in the
    configuration section of the README."""
    text = readme_text()
    assert CONFIG_HEADING in text, f"README needs a '{CONFIG_HEADING}' section"
    section = text.split(CONFIG_HEADING, 1)[1]
    section = re.split(r"\n## ", section, maxsplit=1)[0]
    return set(re.findall(r"^\|\s*`([A-Z][A-Z0-9_]*)`\s*\|", section, flags=re.MULTILINE))


def test_readme_state_diagram_is_the_generated_one() -> None:
    assert readme_mermaid_block(START, END) == state_diagram(), (
        "README.md's state diagram is stale: replace the block between the state-diagram "
        "markers with the output of `python manage.py state_diagram`."
    )


def test_state_diagram_shows_every_declared_transition() -> None:
    from cases.models import Case

    diagram = state_diagram()
    assert diagram.startswith("stateDiagram-v2\n")
    assert "    [*] --> draft\n" in diagram
    assert diagram.endswith("    closed --> [*]\n")
    declared = list(Case._meta.get_field("state").get_all_transitions(Case))
    assert declared
    for transition in declared:
        sources = transition.source if isinstance(transition.source, list) else [transition.source]
        for source in sources:
            line = f"    {source} --> {transition.target}: {transition.name}\n"
            assert line in diagram, f"missing from the diagram: {line.strip()}"
    # closed is terminal: nothing leaves it but the end marker.
    leaving_closed = [line for line in diagram.splitlines() if line.startswith("    closed -->")]
    assert leaving_closed == ["    closed --> [*]"]


def test_state_diagram_dot_format_has_the_same_edges() -> None:
    mermaid_edges = re.findall(r"^    (\w+) --> (\w+): (\w+)$", state_diagram(), re.MULTILINE)
    dot = state_diagram("--format", "dot")
    dot_edges = re.findall(r'^    "(\w+)" -> "(\w+)" \[label="(\w+)"\];$', dot, re.MULTILINE)
    assert dot.splitlines()[1] == "digraph case_state {"
    assert mermaid_edges and dot_edges == mermaid_edges


def test_settings_parser_finds_the_variables() -> None:
    # Guards the test below against a parser that silently finds nothing.
    assert {"SECRET_KEY", "DATABASE_URL", "REDIS_URL", "DEBUG", "KYCREVIEW_VAR_DIR"} <= (
        settings_variables()
    )


@pytest.mark.parametrize("name", sorted(settings_variables()))
def test_every_settings_variable_is_documented(name: str) -> None:
    assert name in readme_config_rows(), (
        f"kycreview/settings.py reads {name}; give it a row (default, meaning) in the "
        f"README's configuration table."
    )


def test_readme_documents_no_variable_settings_does_not_read() -> None:
    stale = readme_config_rows() - settings_variables()
    assert not stale, f"README documents variables settings.py does not read: {sorted(stale)}"
