"""LineInput: the project's one-line text box (search, reason, note, path, password).

Textual's ``Input`` runs Backspace, Delete and the cursor keys as bindings,
which the App dispatches after the key has bubbled back to it, from another
queue: in a burst the characters typed behind a Backspace are inserted first
(Backspace x5 then ``smith`` over ``jones`` gives ``josmi``).  LineInput is an
EntryForm with one text field, so every key is handled by the box itself, in
order, and a refusal (a reason required, a sign-in refused) goes through the
entry form's error path like in any heads-down form.

Enter posts ``Submitted`` (the text stays); each change of the text posts
``Changed``.  Keys the box does not use (Esc, Tab, Up/Down, F-keys) bubble to
the screen.
"""
from __future__ import annotations

from typing import Callable, ClassVar

from rich.text import Text
from textual import events
from textual.binding import BindingType
from textual.message import Message

from kec_tui.keymap import bind
from kec_tui.widgets.entry_form import EntryForm, FieldSpec

FIELD = "text"
DEFAULT_MAX_LENGTH = 1000


class LineInput(EntryForm, inherit_bindings=False):
    """A single-line text box that handles its keys in order.

    Args:
        value: the text it starts with.
        placeholder: shown dimmed while the box is empty.
        password: draw the text as asterisks.
        max_length: the most characters it takes (0: DEFAULT_MAX_LENGTH); more is refused.
        validate: called with the text on Enter, synchronously, before the next key is
            handled; a message it returns is a refusal (no Submitted; keys typed behind
            the Enter are held by the entry form's error path). It may change the text
            (a refused password is cleared).
        wrap: draw long text over as many lines as it needs (a note) instead of
            scrolling it sideways.
    """

    DEFAULT_CSS = """
    LineInput {
        width: 1fr;
        height: auto;
        padding: 0 1;
        background: $surface;
        border: tall $border-blurred;
    }
    LineInput:focus { border: tall $border; }
    LineInput > .line-input--placeholder { color: $text-disabled; }
    """
    COMPONENT_CLASSES: ClassVar[set[str]] = EntryForm.COMPONENT_CLASSES | {"line-input--placeholder"}
    BINDINGS: ClassVar[list[BindingType]] = [
        bind("line_input.submit", "field_exit", "Accept what is typed", show=False),
        bind("line_input.erase", "erase_input", "Erase the box", show=False),
    ]

    class Changed(Message):
        """The text changed (by a key, a paste or from code)."""

        def __init__(self, line_input: LineInput, value: str) -> None:
            super().__init__()
            self.input = line_input
            self.value = value

        @property
        def control(self) -> LineInput:
            return self.input

    class Submitted(Changed):
        """Enter was pressed; the text stays in the box."""

    def __init__(self, value: str = "", *, placeholder: str = "", password: bool = False, max_length: int = 0,
                 validate: Callable[[str], str | None] | None = None, wrap: bool = False,
                 name: str | None = None, id: str | None = None, classes: str | None = None,
                 disabled: bool = False) -> None:
        width = max_length or DEFAULT_MAX_LENGTH
        check = (lambda text, record: validate(text)) if validate is not None else None
        super().__init__([FieldSpec(FIELD, "", "text", width, validate=check, dup=False)],
                         name=name, id=id, classes=classes, disabled=disabled)
        self.placeholder = placeholder
        self.password = password
        self.max_length = width
        self.wrap = wrap
        self._scroll = 0  # first character drawn, so the cursor stays in view
        self._selected = False  # the text given is selected as the box gets focus: typing replaces it
        self._store(FIELD, value[:width])

    # -- the text
    @property
    def value(self) -> str:
        return self._buf[FIELD]

    @value.setter
    def value(self, text: str) -> None:
        before = self.value
        self._store(FIELD, text[: self.max_length])
        self.refresh()
        self._changed(before)

    @property
    def cursor_position(self) -> int:
        return self._pos

    def clear(self) -> None:
        self.value = ""

    def _changed(self, before: str) -> None:
        if self.value != before:
            self.post_message(self.Changed(self, self.value))

    # -- keys: EntryForm handles them; this only notices the change.  (Textual also calls the
    # base class's handler unless prevent_default: EntryForm._on_key sets it on a key it used.)
    def _on_key(self, event: events.Key) -> None:
        before = self.value
        super()._on_key(event)
        self._changed(before)

    def _on_paste(self, event: events.Paste) -> None:
        before = self.value
        super()._on_paste(event)
        event.prevent_default()  # taken once
        self._changed(before)

    def _on_focus(self, event: events.Focus) -> None:
        self._selected = bool(self.value)

    def _on_blur(self, event: events.Blur) -> None:
        self._selected = False

    def _type_char(self, ch: str) -> str | None:
        if self._selected:  # typing over the selected text replaces it, as in any text box
            self._selected = False
            self._store(FIELD, "")
        return super()._type_char(ch)

    def _edit(self, key: str) -> None:
        if self._selected:
            self._selected = False
            if key in ("backspace", "delete"):
                self._store(FIELD, "")
                self.error = None
                return
        super()._edit(key)

    def action_erase_input(self) -> None:
        self._selected = False
        super().action_erase_input()

    def _submit(self) -> None:
        """Enter: say so, keep the text (a search box stays filled)."""
        self.error = None
        self.post_message(self.Submitted(self, self.value))

    # -- drawing: the text (or placeholder) on one line, a message under it
    def render(self) -> Text:
        width = max(self.content_size.width, 1)
        style = self.get_component_rich_style
        text = self.value
        shown = "*" * len(text) if self.password else text
        if not text and self.placeholder:
            line = Text(self.placeholder, style=style("line-input--placeholder"), end="")
            if self.has_focus:
                line.stylize(style("entry-form--cursor"), 0, 1)
            line.truncate(width, overflow="ellipsis")
        elif self.wrap:
            chunks = [(shown + " ")[i: i + width] for i in range(0, len(shown) + 1, width)]
            line = Text("\n", end="").join(Text(chunk, end="") for chunk in chunks)
            if self.has_focus:
                at = self._pos + self._pos // width  # each line break is one character of the Text
                line.stylize(style("entry-form--cursor"), at, at + 1)
        else:
            pos = self._pos
            if pos < self._scroll:
                self._scroll = pos
            elif pos >= self._scroll + width:
                self._scroll = pos - width + 1
            self._scroll = max(0, min(self._scroll, max(0, len(shown) + 1 - width)))
            visible = (shown + " ")[self._scroll: self._scroll + width]
            line = Text(visible, end="")
            if self.has_focus and self._selected:
                line.stylize(style("entry-form--current"), 0, len(shown) - self._scroll)
            if self.has_focus:
                at = pos - self._scroll
                line.stylize(style("entry-form--cursor"), at, at + 1)
        message = self.error_text       # while locked: the keys held and how to go on
        if not message:
            return line
        error = Text(message, style=style("entry-form--error"), end="")
        return Text("\n", end="").join([line, error])
