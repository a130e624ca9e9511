"""StepForm: an EntryForm over a guided flow (new membership, move, closure, the order dialogs),
drawn a step at a time. One widget owns every field of every step, so keys typed ahead land in
their fields however fast they come."""
from __future__ import annotations

import textwrap
from collections.abc import Callable, Sequence
from typing import ClassVar

from rich.text import Text
from textual.binding import BindingType

from kec_tui.keymap import bind
from kec_tui.textual_internals import app_keymap, node_bindings
from kec_tui.widgets.entry_form import SUBMIT, EditForm, FieldSpec, Record


class StepForm(EditForm):
    """An EntryForm over a guided flow: one widget owns every field of every step (so
    type-ahead is safe), draws only the step the cursor is in, skips the fields that do
    not apply (forward and back) and masks secret fields.

    Args:
        steps: field name -> the title of its step (fields of a step are consecutive).
        applies: (field name, record) -> whether the field is keyed now; None: all are.
        masked: field name -> how to draw it once the cursor has left it ("***-**-1234");
            back in the field it stays masked and the first key clears it (re-key it whole).
        secret: fields never drawn, not even while keyed (passwords).
    Esc calls the screen's ``action_cancel`` (EditForm).
    """

    DEFAULT_CSS = """
    StepForm > .entry-form--step { text-style: bold; color: $text-primary; }
    """
    COMPONENT_CLASSES: ClassVar[set[str]] = EditForm.COMPONENT_CLASSES | {"entry-form--step"}
    BINDINGS: ClassVar[list[BindingType]] = [
        bind("entry_form.dup", "dup", "", show=False),   # no Dup here: passed on (see _on_key)
        bind("entry_form.field_minus", "field_minus", "Field-", show=False),
        bind("entry_form.clear_record", "clear_record", "Leave"),
    ]

    def __init__(self, fields: Sequence[FieldSpec], *, steps: dict[str, str],
                 applies: Callable[[str, Record], bool] | None = None,
                 masked: dict[str, Callable[[str], str]] | None = None, secret: Sequence[str] = (),
                 on_submit=None, after_exit: Callable[[str, Record], str | None] | None = None,
                 on_move: Callable[[str], None] | None = None, id: str | None = None) -> None:
        super().__init__(fields, on_submit=on_submit, after_exit=self._next_field, id=id)
        self._on_move = on_move
        self._steps = steps
        self._applies = applies
        self._masked = masked or {}
        self._secret = frozenset(secret)
        self._locked: set[str] = set()
        self._hook = after_exit
        self._titles = list(dict.fromkeys(steps[spec.name] for spec in self.fields))

    # -- which field is next
    def applies(self, name: str, record: Record | None = None) -> bool:
        return self._applies is None or self._applies(name, record if record is not None else self.values)

    def _next_field(self, name: str, record: Record) -> str | None:
        target = self._hook(name, record) if self._hook else None
        if target is not None:
            return target
        names = [spec.name for spec in self.fields]
        for later in names[names.index(name) + 1:]:
            if self.applies(later, record):
                return later
        return SUBMIT

    def action_field_back(self) -> None:
        record = self.values
        for index in range(self._index - 1, -1, -1):
            if self.applies(self.fields[index].name, record):
                self._go(index)
                break
        self.error = None

    # -- masking
    def _go(self, index: int) -> None:
        leaving = self.fields[self._index].name
        if index != self._index and leaving in self._masked and self._buf[leaving]:
            self._locked.add(leaving)
        super()._go(index)
        if self._on_move is not None:
            self._on_move(self.current)

    def lock(self, name: str) -> None:
        if self._buf.get(name):
            self._locked.add(name)

    def reset(self) -> None:
        self._locked.clear()
        super().reset()

    def _unlock_for_typing(self) -> None:
        name = self.current
        if name in self._locked:
            self._locked.discard(name)
            self._buf[name] = ""
            self._pos = 0

    def _type_char(self, ch: str) -> str | None:
        self._unlock_for_typing()
        return super()._type_char(ch)

    def _edit(self, key: str) -> None:
        if self.current in self._locked:
            if key in ("backspace", "delete"):
                self._unlock_for_typing()
            return
        super()._edit(key)

    def _on_key(self, event) -> None:
        if self._key_actions().get(event.key) == "dup":
            # No Dup in a guided form: the key does what it does on the screen or in the app
            # (F4 is the order queue), not "Dup is not allowed".
            event.stop()
            event.prevent_default()
            self._pass_on(event.key)
            return
        super()._on_key(event)

    def _pass_on(self, key: str) -> None:
        keymap = app_keymap(self.app)
        for node in (self.screen, self.app):
            bindings = node_bindings(node).copy()
            if keymap:
                bindings.apply_keymap(keymap)
            found = bindings.key_to_bindings.get(key)
            if found:
                self.call_later(self.app.run_action, found[0].action, node)
                return

    def action_dup(self) -> None:
        self._fail("Dup: not in this form")

    def _display(self, spec: FieldSpec, current: bool) -> str:
        raw = self._buf[spec.name]
        if spec.name in self._secret:
            return "*" * len(raw)
        if spec.name in self._masked and raw and (not current or spec.name in self._locked):
            return self._masked[spec.name](raw)
        return super()._display(spec, current)

    # -- drawing: the current step only
    def _redraw(self) -> None:
        """Drawn whole, and its height follows what it shows: a message under the fields or the fields
        of a sign-in coming up make it taller (a refresh without layout would cut them off)."""
        if self.is_mounted:
            self.refresh(layout=True)
        else:
            super()._redraw()

    @property
    def step(self) -> str:
        return self._steps[self.current]

    def render(self) -> Text:
        width = max(self.content_size.width, 20)
        style = self.get_component_rich_style
        label_style, field_style = style("entry-form--label"), style("entry-form--field")
        current_style, cursor_style = style("entry-form--current"), style("entry-form--cursor")
        error_style = style("entry-form--error")
        record = self.values
        step = self.step
        number = self._titles.index(step) + 1
        title = f"{step}  (step {number} of {len(self._titles)})" if len(self._titles) > 1 else step
        lines = [Text(title, style=style("entry-form--step"), end="")] if title else []
        error_below = ""
        message = self.error_text or ""   # while locked: with the keys held and how to go on
        for index, spec in enumerate(self.fields):
            if self._steps[spec.name] != step or not (index == self._index or self.applies(spec.name, record)):
                continue
            current = index == self._index
            line = Text(f"{spec.label:>{self._label_width}}  ", style=label_style, end="")
            shown = self._display(spec, current)
            slot = max(self._slot_width(spec), len(shown) + 1)
            value = Text(shown.ljust(slot), style=current_style if current else field_style, end="")
            if current and self.has_focus:
                at = self._pos if shown == self._buf[spec.name] else len(shown)
                value.stylize(cursor_style, at, at + 1)
            line.append_text(value)
            if current and message:
                if line.cell_len + 2 + len(message) <= width:
                    line.append("  " + message, style=error_style)
                else:
                    error_below = message
            lines.append(line)
        for line in lines:
            line.truncate(width, overflow="ellipsis")
        # A long message (a service's refusal) is wrapped, never cut: it says what to do.
        lines += [Text(part, style=error_style, end="") for part in textwrap.wrap(error_below, width)] or [Text("")]
        info = Text(self.info, style=style("entry-form--info"), end="")
        info.truncate(width, overflow="ellipsis")
        lines.append(info)
        return Text("\n", end="").join(lines)

