"""The folders are the data path: no module imports from a later step.

data -> reduced -> structural -> checks -> counterfactuals -> report, and sweeps (many fits,
checks and counterfactuals run as Dask tasks) last. The shared modules
(errors, panel, codes, equations, _io, _devices) import no step; the package root and the
top-level CLI assemble everything. The one deliberate exception: the convenience methods
``StructuralFit.ppc`` and ``StructuralFit.counterfactual`` call the later steps when asked.
"""

from __future__ import annotations

import ast
from pathlib import Path

import structest

ROOT = Path(structest.__file__).resolve().parent
STEPS = ("data", "reduced", "structural", "checks", "counterfactuals", "report", "sweeps")
# the package root, the CLI and the public re-export of the table functions assemble steps
ASSEMBLERS = {"structest", "structest.cli", "structest.tables"}
ALLOWED = {("structest.structural.results", "structest.checks"),
           ("structest.structural.results", "structest.counterfactuals")}  # fmt: skip


def _module(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    mod = _module(path)
    pkg = mod if path.name == "__init__.py" else mod.rsplit(".", 1)[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith("structest")}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join([*base, *([node.module] if node.module else [])])
                names = [f"{target}.{a.name}" for a in node.names] if not node.module else []
                out |= {target, *names}
            elif node.module and node.module.startswith("structest"):
                out.add(node.module)
    return out


def _step(module: str) -> int | None:
    parts = module.split(".")
    if len(parts) > 1 and parts[1] in STEPS:
        return STEPS.index(parts[1])
    return None


def test_no_module_imports_a_later_step() -> None:
    bad = []
    files = sorted(ROOT.rglob("*.py"))
    assert len(files) > 40
    for path in files:
        mod = _module(path)
        if mod in ASSEMBLERS:
            continue
        mine = _step(mod)
        for target in _imports(path):
            theirs = _step(target)
            if theirs is None:
                continue
            late = (mine is None) or theirs > mine
            if late and (mod, ".".join(target.split(".")[:2])) not in ALLOWED:
                bad.append(f"{mod} imports {target}")
    assert not bad, "\n".join(bad)


def test_each_step_has_its_commands_and_the_cli_only_assembles() -> None:
    for step in ("data", "reduced", "structural", "counterfactuals", "report", "sweeps"):
        assert (ROOT / step / "cli.py").exists(), step
    tree = ast.parse((ROOT / "cli.py").read_text())
    defs = [n.name for n in tree.body if isinstance(n, ast.FunctionDef)]
    assert defs == ["main"]
