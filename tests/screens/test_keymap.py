import pytest

from kec_tui import keymap
from kec_tui.app import KecApp
from kec_tui.config import Settings
from kec_tui.screens.lookup import LookupScreen
from tests.screens.conftest import settle


def all_binding_ids():
    """Every Binding with an id declared by our screens, widgets and the app."""
    import importlib
    import pkgutil

    import kec_tui.screens
    import kec_tui.widgets
    from textual.binding import Binding

    ids = {}
    classes = [KecApp]
    for pkg in (kec_tui.screens, kec_tui.widgets):
        for mod in pkgutil.iter_modules(pkg.__path__):
            m = importlib.import_module(f"{pkg.__name__}.{mod.name}")
            classes += [v for v in vars(m).values()
                        if isinstance(v, type) and hasattr(v, "BINDINGS") and v.__module__ == m.__name__]
    for cls in classes:
        for b in cls.__dict__.get("BINDINGS", []):
            if isinstance(b, Binding):
                ids[b.id] = cls.__name__
    return ids


def test_every_binding_has_an_id_in_default_toml():
    ids = all_binding_ids()
    assert None not in ids, f"a binding without an id in {ids.get(None)}"
    defaults = keymap.load()
    missing = sorted(i for i in ids if i not in defaults)
    assert not missing, f"binding ids missing from keymaps/default.toml: {missing}"


def test_user_keymap_overrides(tmp_path):
    mine = tmp_path / "mine.toml"
    mine.write_text('[bindings]\n"app.lookup" = "f3"\n')
    km = keymap.load(mine)
    assert km["app.lookup"] == "f3" and km["app.help"] == "f1"


@pytest.mark.parametrize("text,needle", [("[bindings\n", "not valid TOML"), ('[bindings]\n"app.help" = 3\n', "key string")])
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
