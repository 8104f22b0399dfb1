"""The layer rules of the house (docs/guide/architecture.md, "Layout"), checked on every import of every module,
including those inside functions:

* the core (``neurosim``) imports no wing (``circuits``, ``connectomes``, ``hardware``),
  except its command line, ``neurosim/cli/``, which wires them together;
* ``hardware`` never imports ``circuits``; ``connectomes`` imports neither ``circuits`` nor
  ``hardware``;
* the families of ``circuits`` (``circuits/worm``, ``circuits/hdsnn``, ...) do not import
  each other (only themselves and the package root ``circuits``).
"""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("neurosim", "circuits", "connectomes", "hardware")
WINGS = ("circuits", "connectomes", "hardware")


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, root: Path) -> list:
    """(line, absolute module) of every import in the file, relative ones resolved."""
    name = module_name(path, root)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([base] if base else []))
            found += [(node.lineno, f"{base}.{a.name}" if not node.module and node.level else base) for a in node.names]
    return found


def family(module: str) -> str | None:
    """``circuits.worm.model`` -> ``circuits.worm``; the package root ``circuits`` -> None."""
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "circuits" and len(parts) > 1 else None


def violations(root: Path) -> list:
    """Every import that breaks a layer rule, as 'file:line: module imports target (rule)'."""
    bad = []
    for pkg in PACKAGES:
        for path in sorted((root / pkg).rglob("*.py")):
            me = module_name(path, root)
            for line, target in imports(path, root):
                top = target.split(".")[0]
                rule = None
                if me.startswith("neurosim") and not me.startswith("neurosim.cli") and top in WINGS:
                    rule = "the core imports no wing (only neurosim/cli/ does)"
                elif me.startswith("hardware") and top == "circuits":
                    rule = "hardware never imports circuits"
                elif me.startswith("connectomes") and top in ("circuits", "hardware"):
                    rule = "connectomes imports neither circuits nor hardware"
                elif family(me) and family(target) and family(target) != family(me):
                    rule = "circuit families do not import each other"
                if rule:
                    bad.append(f"{path.relative_to(root)}:{line}: {me} imports {target} ({rule})")
    return bad


def test_the_house_keeps_its_layer_rules():
    assert violations(ROOT) == []


FORBIDDEN = [
    ("neurosim/simulator.py", "from circuits.worm.model import build_worm\n", "the core imports no wing"),
    ("neurosim/engine/layout.py", "def f():\n    import hardware.loihi\n", "the core imports no wing"),
    ("hardware/nir/graph.py", "from circuits.nmnist import classifier\n", "hardware never imports circuits"),
    ("connectomes/names.py", "import hardware\n", "connectomes imports neither"),
    ("circuits/worm/model.py", "from ..hdsnn.layer import HDSNN\n", "circuit families do not import each other"),
]


@pytest.mark.parametrize("where,line,rule", FORBIDDEN, ids=[f[0] for f in FORBIDDEN])
def test_a_forbidden_import_fails_the_rules(tmp_path, where, line, rule):
    """A copy of the house with one forbidden import added (at module level or inside a
    function) breaks exactly that rule."""
    for pkg in PACKAGES:
        for path in (ROOT / pkg).rglob("*.py"):
            dest = tmp_path / path.relative_to(ROOT)
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_text(path.read_text())
    target = tmp_path / where
    target.write_text(target.read_text() + "\n" + line)
    found = violations(tmp_path)
    assert len(found) == 1 and found[0].startswith(where) and rule in found[0], found


def test_the_cli_may_wire_the_wings():
    """The command line is the one core module that imports the wings (lazily)."""
    wired = {t.split(".")[0] for p in (ROOT / "neurosim" / "cli").rglob("*.py") for _, t in imports(p, ROOT)}
    assert {"circuits", "hardware"} <= wired
