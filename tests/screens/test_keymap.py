import importlib
import pkgutil

import pytest
from textual.binding import Binding
from textual.dom import DOMNode

import kec_tui
from kec_tui import keymap
from kec_tui.app import KecApp
from kec_tui.config import Settings
from kec_tui.screens.lookup import LookupScreen
from tests.screens.conftest import settle


def declared_bindings() -> dict[str, list]:
    """Every BINDINGS entry of every App, Screen and Widget class defined in kec_tui, by class."""
    found: dict[str, list] = {}
    for mod in pkgutil.walk_packages(kec_tui.__path__, "kec_tui."):
        if mod.name.endswith("__main__"):
            continue
        m = importlib.import_module(mod.name)
        for v in vars(m).values():
            if isinstance(v, type) and issubclass(v, DOMNode) and v.__module__ == m.__name__:
                found[f"{v.__module__}.{v.__qualname__}"] = list(v.__dict__.get("BINDINGS", []))
    return found


def test_every_binding_has_an_id_in_default_toml():
    declared = declared_bindings()
    assert "kec_tui.app.KecApp" in declared and "kec_tui.screens.lookup.LookupScreen" in declared
    without_id = [f"{cls}: {b!r}" for cls, bs in declared.items() for b in bs
                  if not isinstance(b, Binding) or not b.id]
    assert not without_id, f"bindings without an id (use keymap.bind): {without_id}"
    ids = {b.id for bs in declared.values() for b in bs}
    defaults = keymap.load()
    missing = sorted(ids - defaults.keys())
    assert not missing, f"binding ids missing from keymaps/default.toml: {missing}"
    unbound = sorted(defaults.keys() - ids)
    assert not unbound, f"ids in keymaps/default.toml that no BINDINGS declare: {unbound}"


def test_user_keymap_overrides(tmp_path):
    mine = tmp_path / "mine.toml"
    mine.write_text('[bindings]\n"app.lookup" = "f3"\n')
    km = keymap.load(mine)
    assert km["app.lookup"] == "f3" and km["app.help"] == "f1"


@pytest.mark.parametrize("text,needle", [("[bindings\n", "not valid TOML"),
                                         ('[bindings]\n"app.help" = 3\n', "key string")])
def test_bad_keymap_files_explain(tmp_path, text, needle):
    bad = tmp_path / "bad.toml"
    bad.write_text(text)
    with pytest.raises(keymap.KeymapError, match=needle):
        keymap.load(bad)
    with pytest.raises(keymap.KeymapError, match="not found"):
        keymap.load(tmp_path / "nope.toml")


async def test_rebound_key_works_in_the_app(tmp_path, coop, msr_op, sqlite_db):
    mine = tmp_path / "mine.toml"
    mine.write_text('[bindings]\n"app.help" = "f3"\n')
    app = KecApp(Settings(db=sqlite_db, keymap=str(mine)), msr_op)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f1")
        assert isinstance(app.screen, LookupScreen)
        await pilot.press("f3")
        await settle(pilot)
        assert type(app.screen).__name__ == "HelpScreen"
