"""The floors of docs/architecture.md, read from the imports: the chassis imports no service, a
service imports no processor, and one service uses another only through its published events."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def files(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


@pytest.mark.parametrize("path", files("chassis"), ids=lambda p: p.name)
def test_the_chassis_imports_no_service_or_processor(path: Path) -> None:
    assert not {m for m in imports(path) if m.split(".")[0] in ("apis", "stream_processors")}


@pytest.mark.parametrize("path", [p for p in files("apis") if "migrations" not in p.parts],
                         ids=lambda p: str(p.relative_to(ROOT / "apis")))
def test_a_service_uses_another_only_through_its_events(path: Path) -> None:
    own = path.relative_to(ROOT / "apis").parts[0]
    for module in imports(path):
        parts = module.split(".")
        assert parts[0] != "stream_processors", f"{path} imports a processor"
        if parts[0] == "apis" and len(parts) > 1 and parts[1] != own:
            assert parts[2:] == ["events"], f"{path} imports {module}: another service's internals"
