"""The layers of DESIGN.md, checked on the code: key -> widget -> screen -> service -> db.

* services (and the demo builder) never import Textual, not even through another module;
* a screen never imports another screen, nor the database models;
* widgets, training and remote never import the database models, nor a screen
  (training names screens only as "module:Class" strings to recognise them);
* nothing below the app imports the app.

Imports inside functions count too: they are how circles were dodged before.
"""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "kec_tui"

# (importer prefix, forbidden prefix, why)
RULES: tuple[tuple[str, str, str], ...] = (
    ("kec_tui.services", "textual", "services are plain Python"),
    ("kec_tui.services", "kec_tui.screens", "services are below the screens"),
    ("kec_tui.services", "kec_tui.widgets", "services are below the widgets"),
    ("kec_tui.services", "kec_tui.app", "services are below the app"),
    ("kec_tui.demo", "textual", "the demo builder is plain Python"),
    ("kec_tui.screens", "kec_tui.screens", "screens are leaves: the app navigates"),
    ("kec_tui.screens", "kec_tui.db", "screens reach the data through services"),
    ("kec_tui.screens", "kec_tui.app", "screens reach the app as self.app"),
    ("kec_tui.widgets", "kec_tui.screens", "widgets are below the screens"),
    ("kec_tui.widgets", "kec_tui.db", "widgets reach the data through services"),
    ("kec_tui.training", "kec_tui.db", "training reaches the data through services"),
    ("kec_tui.training", "kec_tui.screens", "training names screens by 'module:Class'"),
    ("kec_tui.remote", "kec_tui.db", "remote reaches the data through services"),
)


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(source: str, module: str, is_package: bool, root: Path) -> set[str]:
    """Every module an import statement in the source names, wherever it stands: for
    ``from X import a``, X.a when that is a module of the tree ("from kec_tui import db"), else X."""
    found: set[str] = set()
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[:len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                sub = root.joinpath(*f"{base}.{alias.name}".split("."))
                is_module = sub.with_suffix(".py").exists() or (sub / "__init__.py").exists()
                found.add(f"{base}.{alias.name}" if is_module else base)
    return found


def _under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def violations(root: Path) -> list[str]:
    """'importer imports imported: why' for every import that breaks a rule, under root/kec_tui."""
    found = []
    for path in sorted((root / "kec_tui").rglob("*.py")):
        module = module_name(path, root)
        for imported in sorted(imports(path.read_text(encoding="utf-8"), module, path.name == "__init__.py", root)):
            for importer, forbidden, why in RULES:
                if not _under(module, importer) or not _under(imported, forbidden):
                    continue
                if importer == forbidden == "kec_tui.screens" and imported in ("kec_tui.screens", module):
                    continue  # the package itself, or the module naming itself
                found.append(f"{module} imports {imported}: {why}")
    return found


def test_the_code_keeps_its_layers():
    assert violations(ROOT) == []


def test_services_do_not_load_textual_even_indirectly():
    """Importing every service (and the demo builder) leaves Textual unloaded: a service that imports a
    module that imports Textual breaks the layering as surely as a direct import."""
    names = sorted(module_name(p, ROOT) for p in (PACKAGE / "services").glob("*.py"))
    names += sorted(module_name(p, ROOT) for p in (PACKAGE / "demo").glob("*.py"))
    code = ("import sys\n" + "".join(f"import {n}\n" for n in names)
            + "print(sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("module, source, broken", [
    ("services/billing.py", "from textual.widget import Widget\n", "textual.widget"),
    ("services/billing.py", "def f():\n    import textual.app\n", "textual.app"),
    ("screens/billing.py", "from kec_tui.screens.account import AccountScreen\n", "kec_tui.screens.account"),
    ("screens/billing.py", "from kec_tui import db\n", "kec_tui.db"),
    ("screens/billing.py", "def f():\n    from ..db import Account\n", "kec_tui.db"),
    ("widgets/meter.py", "from kec_tui.screens import account\n", "kec_tui.screens"),
    ("training/x.py", "import kec_tui.db\n", "kec_tui.db"),
])
def test_the_layer_check_finds_a_wrong_import(tmp_path, module, source, broken):
    """The test of the test: a deliberately wrong import in a copy of the package is found."""
    package = tmp_path / "kec_tui"
    for sub in ("services", "screens", "widgets", "training"):
        (package / sub).mkdir(parents=True)
        (package / sub / "__init__.py").write_text("")
    (package / "__init__.py").write_text("")
    (package / "db.py").write_text("database = None\n")
    (package / module).write_text(source)
    found = violations(tmp_path)
    assert len(found) == 1 and f" imports {broken}:" in found[0], found


def test_a_screen_may_import_widgets_and_services(tmp_path):
    package = tmp_path / "kec_tui" / "screens"
    package.mkdir(parents=True)
    (package / "billing.py").write_text("from kec_tui.services import billing\nfrom kec_tui.widgets.entry_form "
                                        "import EntryForm\nfrom kec_tui.screens import billing as me\n")
    assert violations(tmp_path) == []
