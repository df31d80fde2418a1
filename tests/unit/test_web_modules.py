"""The web chat's ES modules import each other without cycles: a module that needs to act on another that
imports it gets a callback wired in app.js (history.js -> ask.js, panel.js -> sources.js)."""

from __future__ import annotations

import re
from pathlib import Path

from tests.support import REPO

WEB = REPO / "api" / "web"
IMPORT_RE = re.compile(r"""^\s*import\s[^;]*?from\s+["'](\.{1,2}/[^"']+)["']""", re.MULTILINE | re.DOTALL)


def imports() -> dict[Path, set[Path]]:
    graph: dict[Path, set[Path]] = {}
    for path in [WEB / "app.js", *sorted((WEB / "js").glob("*.js"))]:
        text = path.read_text("utf-8")
        graph[path] = {(path.parent / m).resolve() for m in IMPORT_RE.findall(text)}
    return graph


def test_every_import_resolves_and_there_is_no_cycle() -> None:
    graph = imports()
    for path, deps in graph.items():
        assert deps <= set(graph), f"{path.name} imports a module that does not exist: {deps - set(graph)}"
    done: set[Path] = set()

    def visit(node: Path, trail: list[Path]) -> None:
        if node in trail:
            cycle = trail[trail.index(node):] + [node]
            raise AssertionError("import cycle: " + " -> ".join(p.name for p in cycle))
        if node in done:
            return
        for dep in sorted(graph[node]):
            visit(dep, [*trail, node])
        done.add(node)

    for start in sorted(graph):
        visit(start, [])
