"""The shape of the code holds: every module says its part in its first sentence, no module imports
itself back through others, the transition enum names the state graph, the import-linter layers
can fail, the README's package picture is the generated one, and the models match the
migrations."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from io import StringIO
from pathlib import Path

import grimp
from django.core.management import call_command

from cases.models import Case
from cases.states import TRANSITION_EVENTS, Transition
from tests.test_readme import readme_mermaid_block

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("cases", "accounts", "kycreview")
SOURCE_DIRS = (*PACKAGES, "tests", "bench")
START, END = "<!-- package-diagram:start -->", "<!-- package-diagram:end -->"


def python_files() -> list[Path]:
    files = [ROOT / "manage.py"]
    for folder in SOURCE_DIRS:
        files += [p for p in (ROOT / folder).rglob("*.py") if "migrations" not in p.parts]
    return sorted(files)


def test_every_module_opens_with_a_sentence_saying_its_part() -> None:
    missing = [
        str(path.relative_to(ROOT))
        for path in python_files()
        if not (ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or "").strip()
    ]
    assert not missing, f"modules without a docstring saying what they are for: {missing}"


def _import_cycles() -> list[list[str]]:
    """Strongly connected groups of modules (Tarjan). Importing a.b.c also runs a and a.b, so a
    module imports its parent packages too; imports for type checking only are left out."""
    graph = grimp.build_graph(*PACKAGES, exclude_type_checking_imports=True)
    edges: dict[str, set[str]] = {}
    for module in graph.modules:
        if ".migrations" in module:
            continue
        targets = set()
        for imported in graph.find_modules_directly_imported_by(module):
            parts = imported.split(".")
            targets |= {".".join(parts[:i]) for i in range(1, len(parts) + 1)}
        edges[module] = {t for t in targets if t in graph.modules and t != module}
        # A package's __init__ runs before its modules: that is not an import of them.
        edges[module] -= {m for m in edges[module] if module.startswith(m + ".")}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []
    counter = [0]

    def visit(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for target in edges.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for node in sorted(edges):
        if node not in index:
            visit(node)
    return groups


def test_no_module_imports_itself_back() -> None:
    assert _import_cycles() == []


def test_the_transition_enum_names_the_state_graph_and_each_writes_its_event() -> None:
    declared = {t.name for t in Case._meta.get_field("state").get_all_transitions(Case)}
    assert declared == set(Transition)
    assert set(TRANSITION_EVENTS) == set(Transition)


def test_the_readme_package_diagram_is_the_generated_one() -> None:
    out = StringIO()
    call_command("package_diagram", stdout=out)
    assert readme_mermaid_block(START, END) == out.getvalue(), (
        "README.md's package diagram is stale: replace the block between the package-diagram "
        "markers with the output of `python manage.py package_diagram`."
    )


def test_the_models_need_no_migration(db: None) -> None:
    out = StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()


def test_the_layer_contracts_hold_and_can_fail(tmp_path: Path) -> None:
    """lint-imports (make lint) passes on the code, and fails when a model imports a service."""
    lint = Path(sys.executable).with_name("lint-imports")
    ok = subprocess.run([lint], cwd=ROOT, capture_output=True, text=True, check=False)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    for name in (*PACKAGES, "pyproject.toml"):
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, tmp_path / name)
    catalogue = tmp_path / "cases" / "models" / "catalogue.py"
    catalogue.write_text(catalogue.read_text() + "\nfrom cases.services import review  # noqa\n")
    broken = subprocess.run([lint], cwd=tmp_path, capture_output=True, text=True, check=False)
    assert broken.returncode != 0
    assert "Models import no services" in broken.stdout
    assert "cases.models.catalogue -> cases.services.review" in broken.stdout
