"""Every private Textual attribute kec-tui relies on, in one place.

Textual may change its private names in any release (we pin below the next major
version). Keeping them here, each behind a small function, means one file to read
when Textual moves, and tests/test_textual_internals.py fails here first instead
of a screen misbehaving in front of an MSR.
"""
from __future__ import annotations

from collections.abc import Mapping

from textual import _time
from textual._ansi_sequences import ANSI_SEQUENCES_KEYS
from textual.binding import BindingsMap
from textual.dom import DOMNode
from textual.keys import _character_to_key
from textual.screen import Screen


def app_keymap(app) -> Mapping[str, str] | None:
    """The keymap ``App.set_keymap`` applied: a new object whenever it changes, so its identity
    tells a cache whether bindings must be recomputed (Textual has no public getter)."""
    return getattr(app, "_keymap", None)


def node_bindings(node: DOMNode) -> BindingsMap:
    """The bindings a widget or screen declares (its BINDINGS merged up its class chain)."""
    return node._bindings


def modal_binding_chain(screen: Screen) -> list:
    """(node, bindings) from the focused widget up to the first modal screen: the bindings a key
    pressed now may run (Textual's own dispatch walks this chain)."""
    return screen._modal_binding_chain


def event_clock() -> float:
    """The clock Textual stamps events with (``event.time``): keys read before a moment can be
    told from keys read after it."""
    return _time.get_time()


def escape_then_key() -> dict[str, str]:
    """The characters Textual's input parser makes of Esc followed by a digit, - or = inside the
    escape delay (the macOS Option character: "\\x1b1" -> "¡"), each mapped to the key typed after Esc."""
    return {value: seq[1] for seq, value in ANSI_SEQUENCES_KEYS.items()
            if isinstance(value, str) and len(seq) == 2 and seq[0] == "\x1b" and len(value) == 1}


def key_name(character: str) -> str:
    """The key name Textual gives a printable character ("-" -> "minus")."""
    return character if character.isalnum() else _character_to_key(character)


class CachedBindingChainScreen(Screen):
    """A screen whose binding chain is computed once per focused widget and keymap.

    Textual rebuilds the chain (copies of every binding map, keymap applied) for every key the
    App receives, before it forwards the key: for a heads-down form at 20 keys a payment that was
    half the time a burst took. The chain only changes with the focused widget, its loading state
    or the keymap, so it is kept until one of them changes (readers of the chain only read it)."""

    @property
    def _binding_chain(self):
        focused = self.focused
        key = (id(focused), getattr(focused, "loading", False), id(app_keymap(self.app)))
        cached = getattr(self, "_chain_cache", None)
        if cached is not None and cached[0] == key:
            return cached[1]
        chain = super()._binding_chain
        self._chain_cache = (key, chain)
        return chain
