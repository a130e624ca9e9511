"""The private Textual attributes of kec_tui/textual_internals.py still mean what we use them for.

If one of these fails after a Textual upgrade, fix kec_tui/textual_internals.py (and only it)."""
from __future__ import annotations

import ast
from pathlib import Path

import textual
from textual import events
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingsMap
from textual.widgets import Static

from kec_tui import textual_internals as ti

PACKAGE = Path(__file__).resolve().parent.parent / "kec_tui"


def test_textual_is_the_major_version_we_pin():
    assert textual.__version__.split(".")[0] == "8"


class Form(Static, can_focus=True):
    BINDINGS = [Binding("f2", "noop", "Noop", id="form.noop")]


class Cached(ti.CachedBindingChainScreen):
    def compose(self) -> ComposeResult:
        yield Form(id="one")
        yield Form(id="two")


class Probe(App):
    def on_mount(self) -> None:
        self.push_screen(Cached())


async def test_the_keymap_the_bindings_and_the_cached_chain():
    app = Probe()
    async with app.run_test() as pilot:
        screen = app.screen
        assert isinstance(screen, Cached)
        before = ti.app_keymap(app)
        app.set_keymap({"form.noop": "f3"})
        after = ti.app_keymap(app)
        assert after is not before and dict(after) == {"form.noop": "f3"}
        bindings = ti.node_bindings(screen.query_one("#one"))
        assert isinstance(bindings, BindingsMap) and "f2" in bindings.key_to_bindings
        screen.query_one("#one").focus()
        await pilot.pause()
        chain = screen._binding_chain
        assert chain is screen._binding_chain            # cached while nothing changes
        keys = {key for _, bmap in chain for key in bmap.key_to_bindings}
        assert "f3" in keys and "f2" not in keys          # the keymap is applied
        screen.query_one("#two").focus()
        await pilot.pause()
        assert screen._binding_chain is not chain         # a new focus: a new chain
        nodes = [node for node, _ in ti.modal_binding_chain(screen)]
        assert nodes[0] is screen.query_one("#two") and screen in nodes
        app.set_keymap({"form.noop": "f4"})
        assert "f4" in {key for _, bmap in screen._binding_chain for key in bmap.key_to_bindings}


def test_events_are_stamped_with_the_event_clock():
    start = ti.event_clock()
    key = events.Key("a", "a")
    assert start <= key.time <= ti.event_clock()


def test_no_other_module_touches_textual_privates():
    """Private Textual names (textual._x imports, App._keymap, _binding_chain ...) only in textual_internals."""
    private_attrs = {"_keymap", "_binding_chain", "_bindings", "_modal_binding_chain"}
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "textual_internals.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("textual"):
                if any(part.startswith("_") for part in (node.module or "").split(".")) or any(
                        alias.name.startswith("_") for alias in node.names):
                    found.append(f"{path.name}:{node.lineno} imports {node.module}")
            elif isinstance(node, ast.Attribute) and node.attr in private_attrs:
                found.append(f"{path.name}:{node.lineno} uses .{node.attr}")
            elif isinstance(node, ast.Constant) and node.value in private_attrs:   # getattr(app, "_keymap")
                found.append(f"{path.name}:{node.lineno} names {node.value}")
            elif isinstance(node, ast.FunctionDef) and node.name in private_attrs:
                found.append(f"{path.name}:{node.lineno} overrides {node.name}")
    assert found == []
