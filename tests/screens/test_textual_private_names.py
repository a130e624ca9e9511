"""Our classes must not take the name of a private method of Textual's: KecApp._print (the print key's
worker) once replaced App._print, which Textual calls for every write to stdout or stderr while the app
runs, so the first logged warning (an operator's lock, in a web session) ended the session."""
from __future__ import annotations

import importlib
import inspect
import pkgutil
import sys

from textual.dom import DOMNode

import kec_tui

# Overridden on purpose, each with its reason where it is defined.
MEANT = {"kec_tui.textual_internals.CachedBindingChainScreen._binding_chain"}


def private_overrides() -> list[str]:
    found = []
    for mod in pkgutil.walk_packages(kec_tui.__path__, "kec_tui."):
        if mod.name.endswith("__main__"):
            continue
        m = importlib.import_module(mod.name)
        for cls in vars(m).values():
            if not (isinstance(cls, type) and issubclass(cls, DOMNode) and cls.__module__ == m.__name__):
                continue
            for name, value in cls.__dict__.items():
                # _on_key and friends are Textual's handler names: defining them is how handlers are written.
                if not name.startswith("_") or name.startswith(("__", "_on_")) or not inspect.isfunction(value):
                    continue
                for base in cls.__mro__[1:]:
                    if base.__module__.startswith("textual") and inspect.isfunction(base.__dict__.get(name)):
                        found.append(f"{cls.__module__}.{cls.__qualname__}.{name}")
                        break
    return found


def test_no_class_of_ours_replaces_a_private_method_of_textual():
    assert sorted(set(private_overrides()) - MEANT) == []


async def test_a_write_to_stderr_while_the_app_runs_leaves_it_running(app):
    async with app.run_test() as pilot:
        print("a warning a service logged", file=sys.stderr)    # Textual's capture: App._print(text, stderr=True)
        print("and a line on stdout")
        await pilot.pause()
        assert app.is_running and app.return_code is None
