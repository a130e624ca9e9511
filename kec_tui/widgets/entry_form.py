"""EntryForm: one widget for every heads-down entry screen.

Payments, meter reads, order completion and new accounts are all "key a
record, Field Exit, next record".  This widget owns the text of *all* its
fields and handles every key itself, in its own message queue, in order.

Why one widget and not a form of ``Input`` widgets: in Textual the App
forwards each key to whichever widget is focused *when the App handles the
key*.  Keys typed ahead (a scanner's 21 digits + Enter in a few ms, an SSH
user's burst) are all forwarded before the first Input has processed its
Enter and moved focus, so they land in the old field.  Here focus never
moves: the form is the only focused widget and decides, key by key, which
field a key belongs to.

For the same reason the form runs its own key bindings (Field Exit, Dup ...)
inside its key handler instead of letting the key bubble up to the App's
binding dispatch: a bubbled key is handled later, from another queue, after
the characters typed behind it.  The bindings are still declared as
``Binding`` objects with ids, so they show in the Footer / help and a keymap
(``App.set_keymap``) can rebind them.

Validation, defaults and the lookups that decide the next field are plain
synchronous callables run on Field Exit, before the next key is handled.

An error locks the keyboard (the 5250's input inhibited): after any refusal
(a character the field cannot take, a failed check, a submit refused) every
key of the form typed after it is held, counted and not applied, because it
was typed by someone who had not yet seen the error. Clear (Esc) resumes as
Reset: the refused field is cleared, the fields before it stay, the cursor is
in it. This lives in ``_on_key``/``_fail`` so no form built on this can opt out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Callable, ClassVar, Sequence

from rich.cells import cell_len
from rich.text import Text
from textual import events
from textual.binding import BindingType
from textual.geometry import Region, Size
from textual.message import Message
from textual.strip import Strip
from textual.visual import Visual, visualize
from textual.widget import Widget

from kec_tui.keymap import bind, key_display, keys_for
from kec_tui.textual_internals import app_keymap, escape_then_key, key_name, node_bindings

Record = dict[str, str]
"""The current texts of the form's fields, by field name (money and dates in
canonical form: ``"-123.45"``, ``"01/31/2025"``)."""

KINDS = ("digits", "money", "text", "date", "choice", "scan")

SUBMIT = "__submit__"
"""Returned by an ``after_exit`` hook to submit the record right away
(e.g. a scan line that filled every field)."""


@dataclass(frozen=True)
class FieldSpec:
    """One field of an EntryForm."""

    name: str
    label: str
    kind: str  # "digits" | "money" | "text" | "date" | "choice" | "scan"
    width: int  # max characters keyed ("scan": long enough for the scan line)
    mandatory_entry: bool = False  # may not be left empty
    mandatory_fill: bool = False  # must be filled to width; auto-advances when full
    # Returns an error message or None; called synchronously on Field Exit
    # with the field's canonical text and the whole record.
    validate: Callable[[str, Record], str | None] | None = None
    # Value accepted when Field Exit is pressed on an empty field (amount due ...).
    default: Callable[[Record], str] | None = None
    choices: tuple[str, ...] = ()  # kind="choice": space cycles, letters select (_choose)
    dup: bool = True  # Dup copies this field from the previous record


@dataclass(frozen=True)
class SubmitResult:
    """What ``on_submit`` returns when the record was NOT committed."""

    field: str | None  # field to put the cursor on (None: stay where it is)
    message: str


# --------------------------------------------------------------------------
# Money and dates are parsed from text; money never passes through float.

_MONEY_RE = re.compile(r"^\d*(\.\d{0,2})?$")
_DATE_FORMATS = ("%m/%d/%Y", "%m/%d/%y", "%m%d%Y", "%m%d%y", "%Y-%m-%d", "%m-%d-%Y", "%m-%d-%y")


def parse_money(text: str) -> Decimal:
    """Parse ``"123.45"``, ``"-123"``, ``".5"`` into a Decimal with 2 places.

    Raises:
        ValueError: if the text is not an amount.
    """
    text = text.strip()
    negative = text.startswith("-")
    digits = text[1:] if negative else text
    if not digits or digits == "." or not _MONEY_RE.match(digits):
        raise ValueError(f"not an amount: {text!r}")
    try:
        amount = Decimal(digits).quantize(Decimal("0.01"))
    except InvalidOperation as error:
        raise ValueError(f"not an amount: {text!r}") from error
    return -amount if negative and amount else amount


def format_money(amount: Decimal) -> str:
    """``Decimal("-5")`` -> ``"-5.00"`` (no thousands separators: this is keyed text)."""
    amount = amount.quantize(Decimal("0.01"))
    return f"{amount if amount else abs(amount):f}"  # never "-0.00"


def parse_date(text: str) -> date:
    """Parse a keyed date: MMDDYY, MMDDYYYY, M/D/YY, M/D/YYYY or YYYY-MM-DD.

    Raises:
        ValueError: if the text is not a date.
    """
    text = text.strip()
    if text.isdigit():
        if len(text) not in (6, 8):  # "1125" could be 1/1/25 or 11/2/5
            raise ValueError(f"not a date: {text!r}")
        # By its length: strptime's %Y also takes two digits ("121525" would be 1/2/1525).
        try:
            return datetime.strptime(text, "%m%d%y" if len(text) == 6 else "%m%d%Y").date()
        except ValueError:
            raise ValueError(f"not a date: {text!r}") from None
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(f"not a date: {text!r}")


# Esc then a digit (or - =) inside the terminal's escape delay is read by Textual as one key:
# the macOS Option character of that key ("\x1b1" -> "¡"). In a form it is Esc then the key.
_ESC_THEN = escape_then_key()


def _allowed(kind: str, ch: str, tenkey: bool) -> bool:
    if kind in ("digits", "scan"):
        return ch.isdigit() and ch.isascii()
    if kind == "money":
        return (ch.isdigit() and ch.isascii()) or (ch == "." and not tenkey)
    if kind == "date":
        return (ch.isdigit() and ch.isascii()) or ch in "/-"
    return ch.isprintable()  # text


def _refusal(spec: FieldSpec, tenkey: bool) -> str:
    if spec.kind == "money":
        if tenkey:
            return f"{spec.label}: digits only (10-key: the decimal point is implied)"
        return f"{spec.label}: digits and one decimal point only"
    if spec.kind == "date":
        return f"{spec.label}: digits and / only"
    return f"{spec.label}: digits only"


# The 5250 keys every operator knows, out of the Footer (F1 still lists them, a keymap still
# rebinds them by id): for a form whose screen's own keys must fit the Footer at 80 columns.
QUIET_KEYS: list[BindingType] = [
    bind("entry_form.field_exit", "field_exit", "Field Exit", show=False),
    bind("entry_form.field_back", "field_back", "Field Back", show=False),
    bind("entry_form.dup", "dup", "Dup", show=False),
    bind("entry_form.erase_input", "erase_input", "Erase", show=False),
    bind("entry_form.field_minus", "field_minus", "Field-", show=False),
]


class EntryForm(Widget, can_focus=True):
    """Heads-down entry of records, configured by a list of FieldSpecs.

    Args:
        fields: the fields, in keying order.
        on_submit: called synchronously with the record on Field Exit from
            the last field; commits it and returns None, or a SubmitResult.
        after_exit: called synchronously after a field validates, with the
            field name and the record (which it may change, as may
            ``form.set_value``); returns the next field's name, SUBMIT, or
            None for the next field in order.
        tenkey: 10-key mode: money fields take digits with an implied
            decimal point (``12345`` is 123.45).
    """

    DEFAULT_CSS = """
    EntryForm {
        height: auto;
        padding: 0 1;
    }
    EntryForm > .entry-form--label { color: $text-muted; }
    EntryForm > .entry-form--field { text-style: underline; }
    EntryForm > .entry-form--current { background: $boost; text-style: underline bold; }
    EntryForm > .entry-form--cursor { text-style: reverse; }
    EntryForm > .entry-form--error { color: $text-error; text-style: bold; }
    EntryForm > .entry-form--info { color: $text-accent; }
    EntryForm > .entry-form--previous { color: $text-muted; }
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "entry-form--label",
        "entry-form--field",
        "entry-form--current",
        "entry-form--cursor",
        "entry-form--error",
        "entry-form--info",
        "entry-form--previous",
    }

    # The form runs these itself in _on_key (see the module docstring); keymaps
    # rebind them by id. A form whose screen's own keys fill the Footer hides them: QUIET_KEYS.
    BINDINGS: ClassVar[list[BindingType]] = [
        bind("entry_form.field_exit", "field_exit", "Field Exit"),
        bind("entry_form.field_back", "field_back", "Field Back"),
        bind("entry_form.dup", "dup", "Dup"),
        bind("entry_form.erase_input", "erase_input", "Erase"),
        bind("entry_form.field_minus", "field_minus", "Field-"),
        bind("entry_form.clear_record", "clear_record", "Clear"),
        bind("entry_form.toggle_tenkey", "toggle_tenkey", "10-key", show=False),
    ]

    _EDIT_KEYS = frozenset({"backspace", "delete", "left", "right", "home", "end"})

    class Submitted(Message):
        """Posted after a record was committed by on_submit."""

        def __init__(self, form: EntryForm, record: Record) -> None:
            super().__init__()
            self.form = form
            self.record = record

        @property
        def control(self) -> EntryForm:
            return self.form

    def __init__(
        self,
        fields: Sequence[FieldSpec],
        *,
        on_submit: Callable[[Record], SubmitResult | None] | None = None,
        after_exit: Callable[[str, Record], str | None] | None = None,
        tenkey: bool = False,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
        disabled: bool = False,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes, disabled=disabled)
        self._specs = tuple(fields)
        self._check_specs()
        self._by_name = {spec.name: i for i, spec in enumerate(self._specs)}
        self._on_submit = on_submit
        self._after_exit = after_exit
        self._tenkey = tenkey
        # Raw keyed text per field.  Money: digits and "." (10-key: digits
        # only); its sign is kept apart in _negative.
        self._buf: dict[str, str] = {spec.name: "" for spec in self._specs}
        self._negative: dict[str, bool] = {spec.name: False for spec in self._specs}
        self._index = 0  # current field
        self._pos = 0  # cursor position inside the current field's buffer
        self._choice_typed = ""  # the letters keyed into the current choice field (see _choose)
        self._message_shown: str | None = None  # a subclass drawn whole: the message last laid out (_redraw)
        self.previous: Record | None = None
        """The last record committed (for Dup, and shown under the fields)."""
        self.error: str | None = None
        """The message shown at the current field, or None."""
        self.info: str = ""
        """A line the screen sets under the fields (member, address, amount due)."""
        self._label_width = max(len(spec.label) for spec in self._specs)
        self._label_cells = self._label_width + 2
        self._painted: dict[int, tuple] = {}  # line -> the key it was last painted from
        self._painted_height = 0  # lines at the last layout
        self._below_cache: tuple[tuple | None, list[Strip]] = (None, [])
        self._redraw_due = False  # lines may have changed: compare them when idle
        self._actions: dict[str, str] = {}
        self._actions_keymap: object = None  # the App keymap _actions was built from
        self.locked = False
        """Input inhibited: a refusal (``error``) holds every key of the form until Reset."""
        self.held_keys = 0
        """Keys typed after the refusal and not used (a paste counts as one)."""
        self._refused = 0  # index of the refused field: Reset clears it and puts the cursor there
        self._footer_due = False  # a Footer refresh is scheduled (_lock_changed)
        self._footer_shown: object = False  # the _footer_state the Footer was last refreshed for

    def _check_specs(self) -> None:
        if not self._specs:
            raise ValueError("EntryForm needs at least one field")
        names = [spec.name for spec in self._specs]
        if len(set(names)) != len(names) or SUBMIT in names:
            raise ValueError(f"field names must be unique: {names}")
        for spec in self._specs:
            if spec.kind not in KINDS:
                raise ValueError(f"{spec.name}: unknown kind {spec.kind!r}")
            if spec.width < 1:
                raise ValueError(f"{spec.name}: width must be at least 1")
            if spec.kind == "choice" and not spec.choices:
                raise ValueError(f"{spec.name}: a choice field needs choices")

    # ------------------------------------------------------------------
    # Public API

    @property
    def fields(self) -> tuple[FieldSpec, ...]:
        return self._specs

    @property
    def current(self) -> str:
        """Name of the field the cursor is in."""
        return self._specs[self._index].name

    @property
    def values(self) -> Record:
        """A copy of every field's text (money and dates in canonical form)."""
        return {spec.name: self._value(spec) for spec in self._specs}

    @property
    def tenkey(self) -> bool:
        return self._tenkey

    def set_tenkey(self, on: bool) -> None:
        """Switch 10-key mode, keeping the amounts already keyed."""
        if on == self._tenkey:
            return
        amounts = {spec.name: self._value(spec) for spec in self._specs if spec.kind == "money"}
        self._tenkey = on
        for field_name, text in amounts.items():
            try:
                self._store(field_name, text)
            except ValueError:  # a half-keyed amount such as "." has no meaning in the other mode
                self._store(field_name, "")
        self._redraw()

    def toggle_tenkey(self) -> None:
        self.set_tenkey(not self._tenkey)

    def set_value(self, name: str, text: str) -> None:
        """Set a field's text (from code: a lookup, a scan line, a default).

        Raises:
            KeyError: unknown field.
            ValueError: text that this kind of field cannot hold.
        """
        self._store(name, text)
        self._redraw()

    def focus_field(self, name: str) -> None:
        """Put the cursor at the end of field ``name`` (clears the message unless locked)."""
        self._go(self._by_name[name])
        if not self.locked:
            self.error = None
        self._redraw()

    def set_info(self, text: str) -> None:
        self.info = text
        self._redraw()

    def show_error(self, name: str | None, message: str) -> None:
        """Put the cursor on field ``name`` (if given) with ``message`` beside it."""
        if name in self._by_name:
            self._go(self._by_name[name])
        self._fail(message)
        self._redraw()

    def submit(self) -> None:
        """Submit the record now, from any field (a screen's Save key)."""
        self._submit()
        self._redraw()

    def reset(self) -> None:
        """Clear every field and go back to the first (``previous`` is kept for Dup)."""
        for spec in self._specs:
            self._buf[spec.name] = ""
            self._negative[spec.name] = False
        self._go(0)
        self._unlock()
        self.error = None
        self.info = ""
        self._redraw()

    def resume(self) -> None:
        """Reset after a refusal: the refused field is cleared and the cursor is in it; the
        other fields keep their values (an edit form's loaded values are never lost)."""
        name = self._specs[self._refused].name
        self._buf[name] = ""
        self._negative[name] = False
        self._go(self._refused)
        self._unlock()
        self.error = None
        self._redraw()

    @property
    def error_text(self) -> str | None:
        """The line shown at the field: the error, and while locked the keys held and how to go on."""
        if not self.error or not self.locked:
            return self.error
        text = self.error.rstrip(". ")
        if self.held_keys:
            n = self.held_keys
            text += f". {n:,} key{'s' if n != 1 else ''} typed after it {'were' if n != 1 else 'was'} not used"
        return f"{text}. {self._reset_key()} to go on"

    # ------------------------------------------------------------------
    # Field text

    def _value(self, spec: FieldSpec) -> str:
        """Canonical text of a field: what validators, hooks and on_submit see."""
        raw = self._buf[spec.name]
        if spec.kind == "money" and raw:
            sign = "-" if self._negative[spec.name] else ""
            if self._tenkey:  # implied decimal: "12345" is 123.45
                return format_money(Decimal(sign + raw).scaleb(-2))
            try:
                return format_money(parse_money(sign + raw))
            except ValueError:
                return sign + raw  # half keyed ("."), rejected on Field Exit
        if spec.kind == "date" and raw:
            try:
                return parse_date(raw).strftime("%m/%d/%Y")
            except ValueError:
                return raw
        return raw

    def _store(self, name: str, text: str) -> None:
        """Put ``text`` (canonical or keyed form) into a field's buffer."""
        spec = self._specs[self._by_name[name]]
        text = text.strip() if spec.kind != "text" else text
        negative = False
        if spec.kind == "money" and text:
            amount = parse_money(text)
            negative = amount < 0
            if self._tenkey:
                text = str(int(abs(amount) * 100))
            else:
                text = format_money(abs(amount))
        elif spec.kind in ("digits", "scan") and text and not (text.isdigit() and text.isascii()):
            raise ValueError(f"{name}: digits only, got {text!r}")
        elif spec.kind == "choice" and text and text not in spec.choices:
            raise ValueError(f"{name}: {text!r} is not one of {spec.choices}")
        self._buf[name] = text
        self._negative[name] = negative
        if name == self.current:
            self._pos = len(text)

    def _go(self, index: int) -> None:
        self._index = index
        self._choice_typed = ""
        self._pos = len(self._buf[self._specs[index].name])

    def _fail(self, message: str) -> None:
        """A refusal: say why, and lock the keyboard until Reset (the bell rings once)."""
        self.error = message
        if self.locked:
            return
        self.locked = True
        self.held_keys = 0
        self._refused = self._index
        self._lock_changed()
        if self.is_attached:
            self.app.bell()  # heads-down: the operator's eyes are on the stubs, so the stop is heard

    def _unlock(self) -> None:
        if self.locked:
            self.locked = False
            self.held_keys = 0
            self._lock_changed()

    def _hold(self) -> None:
        """A key of the form typed while locked: not used, counted."""
        self.held_keys += 1
        self._lock_changed()

    def _lock_changed(self) -> None:
        """Called when the lock starts, holds a key or ends (a subclass may show it elsewhere)."""
        if self.is_attached and not self._footer_due:
            # The Footer shows the form's keys disabled while locked. It is rebuilt once after the
            # next frame, not on every change: in a burst a refusal and its Reset often come within
            # one frame, and a rebuild of the Footer costs as much as a hundred keys.
            self._footer_due = True
            self.call_after_refresh(self._refresh_footer)

    def _footer_state(self) -> object:
        """What the Footer shows of the form's keys (a subclass adds what its check_action reads)."""
        return self.locked

    def _refresh_footer(self) -> None:
        self._footer_due = False
        state = self._footer_state()
        if state != self._footer_shown:
            self._footer_shown = state
            self.refresh_bindings()

    def _allowed_while_locked(self, action: str | None) -> bool:
        """Actions a subclass still runs while locked (the warning's accept key); Reset always runs."""
        return False

    def _reset_keys(self) -> tuple[str, ...]:
        """The keys of Reset (the clear binding) in the app's keymap: they reset every locked form,
        also one whose own bindings leave that key to its screen (a LineInput in a dialog)."""
        keymap = app_keymap(self.app) or {}
        return tuple(keymap.get("entry_form.clear_record", keys_for("entry_form.clear_record")).split(","))

    def _reset_key(self) -> str:
        keys = [key for key, action in self._key_actions().items() if action == "clear_record"]
        return key_display(keys[0] if keys else self._reset_keys()[0])

    # ------------------------------------------------------------------
    # Keys

    def _key_actions(self) -> dict[str, str]:
        """key -> action name for this form's bindings, with the App's keymap applied.

        Rebuilt only when the keymap changes (App.set_keymap / update_keymap
        assign a new dict: textual_internals.app_keymap), so a key costs one
        dict lookup.
        """
        keymap = app_keymap(self.app)
        if keymap is not self._actions_keymap or not self._actions:
            bindings = node_bindings(self).copy()
            if keymap:
                bindings.apply_keymap(keymap)
            self._actions = {
                key: key_bindings[0].action
                for key, key_bindings in bindings.key_to_bindings.items()
                if key_bindings
            }
            self._actions_keymap = keymap
        return self._actions

    IN_PLACE_ACTIONS: ClassVar[frozenset[str]] = frozenset(
        {"field_exit", "field_back", "dup", "erase_input", "field_minus", "toggle_tenkey", "record_advance"})
    """The form's actions that keep the focus in the form (as Enter does): the App need not hold the
    keys typed behind them. Lines (F6), Accept (F8: may ask a reason) are not among them."""

    closes_on_submit = False
    """The screen closes when a record is submitted (a dialog's form): the keys typed behind the Field
    Exit that submits are held by the App until the form has handled it, so they reach the screen
    beneath, not the closing form (set by FormDialog)."""

    def may_close(self, key: str) -> bool:
        """This key may close the form's screen: in a dialog, any Field Exit may be the one that
        submits (the App decides before the form has read the keys ahead of it), so the App holds
        the keys typed behind it until the form has handled it."""
        return self.closes_on_submit and self._key_actions().get(key) == "field_exit"

    def on_unmount(self, event: events.Unmount) -> None:
        # Closed with its dialog: a key's barrier the App posted here will not come back.
        gone = getattr(self.app, "input_target_gone", None)
        if gone is not None:
            gone(self)

    def runs_in_place(self, key: str) -> bool:
        """The form runs this key itself, in order, and the focus stays in it (F4 Dup, though the App
        binds F4 too: the form's binding wins, the App's never runs)."""
        action = self._key_actions().get(key)
        if action == "clear_record" and self.clears_in_place():
            return True   # Esc clears the record here (or resets a lock): typed right after a refusal too
        if self.locked:   # Reset, or a key held unused: either way the form keeps the focus
            return (action == "clear_record" or key in self._reset_keys()
                    or (action is not None and not self._allowed_while_locked(action)))
        return action in self.IN_PLACE_ACTIONS

    def clears_in_place(self) -> bool:
        """Whether the form's clear (Esc) clears it, rather than leaving the screen (an edit form's Cancel)."""
        return type(self).clear_record is EntryForm.clear_record

    def check_consume_key(self, key: str, character: str | None) -> bool:
        # Characters and edit keys are ours: hide ancestors' bindings on them.
        return (character is not None and character.isprintable()) or key in self._EDIT_KEYS

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        # While locked only Reset (and a subclass's allowed keys) runs, from the Footer too:
        # None shows the others disabled (False would let a screen's binding on the key show instead).
        if self.locked and action != "clear_record" and not self._allowed_while_locked(action):
            return None
        return True

    def _on_key(self, event: events.Key) -> None:
        key = event.key
        after_esc = _ESC_THEN.get(event.character or "")
        if key.startswith("alt+") and key not in self._key_actions():
            # Esc then a key within the terminal's escape delay arrives as one Alt+key: it is both.
            plain = key[4:]
            self._press("escape", None)
            self._press(plain, event.character or (plain if len(plain) == 1 else None))
        elif after_esc is not None and key not in self._key_actions():
            self._press("escape", None)
            self._press(key_name(after_esc), after_esc)
        elif not self._press(key, event.character):
            return  # not ours (F1, ctrl+q ...): let it bubble to the screen / app
        # Handled here, now, in order: no other handler and no bubbling.
        event.stop()
        event.prevent_default()
        self._redraw()

    def _press(self, key: str, character: str | None) -> bool:
        """Handle one key of the form; False: the key is not the form's."""
        action = self._key_actions().get(key)
        if self.locked and action is None and key in self._reset_keys():
            action = "clear_record"  # Reset works on every form, also one that leaves Esc to its screen
        # A subclass binding to another namespace ("app.quit") is left to Textual.
        method = getattr(self, f"action_{action}", None) if action else None
        printable = character is not None and character.isprintable()
        if method is None and key not in self._EDIT_KEYS and not printable:
            return False
        if self.locked and action != "clear_record" and not self._allowed_while_locked(action):
            self._hold()  # typed after the refusal: never applied
        elif method is not None:
            method()
        elif key in self._EDIT_KEYS:
            self._edit(key)
        else:
            refused = self._type_char(character or "")
            if refused:
                self._fail(refused)
        return True

    def _on_paste(self, event: events.Paste) -> None:
        """A paste is one event: taken whole into the current field, or refused whole."""
        event.stop()
        event.prevent_default()
        if self.locked:
            self._hold()
        else:
            text = event.text.replace("\r\n", "\n").replace("\r", "\n")
            field_exit = text.endswith("\n")  # one line with its line end: Field Exit after it
            text = text[:-1] if field_exit else text
            refused = self._paste_refusal(text)
            if refused:
                self._fail(refused)
            elif text:
                self._paste(text, field_exit)
            elif field_exit:
                self.action_field_exit()
        self._redraw()

    def _paste_refusal(self, text: str) -> str | None:
        spec = self._spec
        if "\n" in text or "\t" in text:  # rows or cells of a spreadsheet: never split across fields
            rows = text.count("\n") + 1
            what = f"{rows} lines" if rows > 1 else f"{text.count(chr(9)) + 1} cells"
            return f"{spec.label}: a paste of {what} is refused: paste one value"
        if spec.kind == "choice":
            return None if text in spec.choices or not text else f"{spec.label}: one of {', '.join(spec.choices)}"
        if not all(ch.isprintable() and _allowed(spec.kind, ch, self._tenkey) for ch in text):
            return f"{_refusal(spec, self._tenkey)}: the paste is refused"
        buf = self._buf[spec.name]
        pos = len(buf) if spec.kind == "money" and self._tenkey else self._pos
        candidate = buf[:pos] + text + buf[pos:]
        if len(candidate) > spec.width:
            return f"{spec.label} takes {spec.width} characters: the paste has {len(text):,}, refused"
        if spec.kind == "money" and not self._tenkey and not _MONEY_RE.match(candidate):
            return f"{spec.label}: the paste is not an amount"
        return None

    def _paste(self, text: str, field_exit: bool) -> None:
        spec = self._spec
        if spec.kind == "choice":
            self._buf[spec.name] = text
            self._pos = len(text)
        else:
            buf = self._buf[spec.name]
            pos = len(buf) if spec.kind == "money" and self._tenkey else self._pos
            self._buf[spec.name] = buf[:pos] + text + buf[pos:]
            self._pos = pos + len(text)
        self.error = None
        full = spec.mandatory_fill and len(self._buf[spec.name]) == spec.width
        if field_exit or full:
            self.action_field_exit()

    def _on_focus(self, event: events.Focus) -> None:
        self._redraw()

    def _on_blur(self, event: events.Blur) -> None:
        self._redraw()

    @property
    def _spec(self) -> FieldSpec:
        return self._specs[self._index]

    def _type_char(self, ch: str) -> str | None:
        """Type one character into the current field; returns why it was refused, or None."""
        spec = self._spec
        name = spec.name
        if spec.kind == "choice":
            return self._choose(spec, ch)
        if not _allowed(spec.kind, ch, self._tenkey):
            return _refusal(spec, self._tenkey)
        buf = self._buf[name]
        if len(buf) >= spec.width:
            if spec.kind == "scan":
                return f"{spec.label}: more than {spec.width} digits (two scans run together?)"
            return f"{spec.label} is full ({spec.width} characters)"
        if spec.kind == "money":
            if self._tenkey:
                self._pos = len(buf)  # a calculator: digits always go on the end
            candidate = buf[: self._pos] + ch + buf[self._pos :]
            if not self._tenkey and not _MONEY_RE.match(candidate):
                return f"{spec.label}: one decimal point and two decimals at most"
        self._buf[name] = buf[: self._pos] + ch + buf[self._pos :]
        self._pos += 1
        self.error = None
        if spec.mandatory_fill and len(self._buf[name]) == spec.width:
            self.action_field_exit()  # auto-advance: the field is full
        return None

    def _choose(self, spec: FieldSpec, ch: str) -> str | None:
        """Choice field: space cycles; a letter selects the (next) choice starting with it, and the
        letters keyed after it spell the choice on ("SL" is SL, "RES" is RES: a code keyed whole
        is taken, never a refusal or another code)."""
        current = self._buf[spec.name]
        typed = self._choice_typed if current.lower().startswith(self._choice_typed.lower()) else ""
        spelled = ([c for c in spec.choices if c.lower().startswith((typed + ch).lower())]
                   if typed and ch != " " else [])   # space always cycles
        if spelled:
            chosen, typed = (current if current in spelled else spelled[0]), typed + ch
        else:
            if ch == " ":
                candidates, typed = list(spec.choices), ""
            else:
                candidates, typed = [c for c in spec.choices if c[:1].lower() == ch.lower()], ch
            if not candidates:
                return f"{spec.label}: one of {', '.join(spec.choices)}"
            chosen = (candidates[(candidates.index(current) + 1) % len(candidates)] if current in candidates
                      else candidates[0])
        self._buf[spec.name] = chosen
        self._pos = len(chosen)
        self._choice_typed = typed
        self.error = None
        return None

    def _edit(self, key: str) -> None:
        spec = self._spec
        name = spec.name
        buf = self._buf[name]
        tenkey_money = spec.kind == "money" and self._tenkey
        if spec.kind == "choice" and key in ("backspace", "delete"):
            buf = ""  # a choice is taken or left whole
        elif key == "backspace":
            if tenkey_money:
                self._pos = len(buf)
            if self._pos > 0:
                buf = buf[: self._pos - 1] + buf[self._pos :]
                self._pos -= 1
        elif key == "delete":
            buf = buf[: self._pos] + buf[self._pos + 1 :]
        elif tenkey_money or spec.kind == "choice":
            self._pos = len(buf)  # no cursor movement inside these
        elif key == "left":
            self._pos = max(0, self._pos - 1)
        elif key == "right":
            self._pos = min(len(buf), self._pos + 1)
        elif key == "home":
            self._pos = 0
        elif key == "end":
            self._pos = len(buf)
        self._buf[name] = buf
        if not buf:
            self._negative[name] = False
        self.error = None

    # ------------------------------------------------------------------
    # 5250 actions (called from _on_key, or by Textual for a Footer click)

    def action_field_exit(self) -> None:
        """Validate the current field and go to the next one, or submit on the last."""
        spec = self._spec
        name = spec.name
        try:
            if not self._buf[name] and spec.default is not None:
                self._store(name, spec.default(self.values) or "")
            message = self._check(spec)
            record = self.values
            if message is None and spec.validate is not None:
                message = spec.validate(record[name], record)
            if message:
                self._fail(message)
                return
            next_name = None
            if self._after_exit is not None:
                before = dict(record)
                next_name = self._after_exit(name, record)
                for field_name, text in record.items():  # the hook may rewrite values
                    if text != before.get(field_name):
                        self._store(field_name, text)
                if next_name not in (None, SUBMIT) and next_name not in self._by_name:
                    raise KeyError(f"after_exit named no such field {next_name!r}")
        except Exception as error:  # a lookup failed: say so at the field, keep everything
            self.log.error(f"EntryForm field exit {name}: {error!r}")
            self._fail(f"{spec.label}: {error or type(error).__name__}")
            return
        self.error = None
        if next_name == SUBMIT or (next_name is None and self._index == len(self._specs) - 1):
            self._submit()
        elif next_name is not None:
            self._go(self._by_name[next_name])
        else:
            self._go(self._index + 1)

    def _check(self, spec: FieldSpec) -> str | None:
        """The built-in checks of a field on Field Exit (before its validator)."""
        raw = self._buf[spec.name]
        if not raw:
            return f"{spec.label} is required" if spec.mandatory_entry else None
        if spec.mandatory_fill and len(raw) < spec.width:
            return f"{spec.label}: fill all {spec.width} positions"
        if spec.kind == "money" and not self._tenkey:
            try:
                parse_money(raw)
            except ValueError:
                return f"{spec.label}: not an amount"
        if spec.kind == "date":
            try:
                parse_date(raw)
            except ValueError:
                return f"{spec.label}: not a date (MMDDYY or MM/DD/YYYY)"
        return None

    def _submit(self) -> None:
        record = self.values
        for index, spec in enumerate(self._specs):
            # after_exit may jump to SUBMIT past fields: they still may not be empty.
            if spec.mandatory_entry and not record[spec.name]:
                self._go(index)
                self._fail(f"{spec.label} is required")
                return
        try:
            result = self._on_submit(record) if self._on_submit is not None else None
        except Exception as error:  # never a traceback on the screen; nothing keyed is lost
            self.log.error(f"EntryForm on_submit: {error!r}")
            self._fail(f"Not saved: {error or type(error).__name__}")
            return
        if result is not None:
            if result.field in self._by_name:
                self._go(self._by_name[result.field])
            self._fail(result.message)
            return
        self.previous = record
        self.reset()
        self.post_message(self.Submitted(self, record))

    def action_field_back(self) -> None:
        if self._index > 0:
            self._go(self._index - 1)
        self.error = None

    def action_dup(self) -> None:
        """Copy the previous record's value of this field, then Field Exit."""
        spec = self._spec
        if not spec.dup:
            self._fail(f"{spec.label}: Dup is not allowed here")
        elif self.previous is None:
            self._fail("Dup: no previous record")
        else:
            self._store(spec.name, self.previous.get(spec.name, ""))
            self.action_field_exit()

    def action_erase_input(self) -> None:
        name = self.current
        self._buf[name] = ""
        self._negative[name] = False
        self._pos = 0
        self.error = None

    def action_field_minus(self) -> None:
        """Field-: in a money field, make the amount negative and exit the field."""
        spec = self._spec
        if spec.kind == "money":
            if not self._buf[spec.name]:
                self._fail(f"{spec.label}: key the amount, then Field-")
                return
            self._negative[spec.name] = True
            self.action_field_exit()  # the validator decides whether negative is allowed
        elif spec.kind in ("text", "date"):
            refused = self._type_char("-")  # an ordinary hyphen there
            if refused:
                self._fail(refused)
        else:
            self._fail(f"{spec.label}: Field- is for amounts")

    def action_clear_record(self) -> None:
        """Esc: Reset while locked, else the form's clear (``clear_record``)."""
        if self.locked:
            self.resume()
        else:
            self.clear_record()

    def clear_record(self) -> None:
        self.reset()

    def action_toggle_tenkey(self) -> None:
        self.toggle_tenkey()
        self.error = None
        self.info = "10-key mode on: amounts have an implied decimal" if self._tenkey else "10-key mode off"

    # ------------------------------------------------------------------
    # Rendering, line by line (Textual's Line API). Each line is drawn from a small key that holds
    # all it shows; after a key only the lines whose key changed since they were painted are
    # refreshed (_redraw), and Textual keeps the strips of the others. A typed digit repaints its
    # field's line, not the whole form: over serve-ssh that is a sixth of the bytes.

    def _display(self, spec: FieldSpec, current: bool) -> str:
        raw = self._buf[spec.name]
        if spec.kind == "money" and raw and (self._tenkey or not current):
            return self._value(spec)  # "123.45": the amount as it will be taken
        if spec.kind == "money" and self._negative[spec.name]:
            return "-" + raw
        return raw

    def _slot_width(self, spec: FieldSpec) -> int:
        if spec.kind == "money":
            return max(spec.width + 3, 4)  # sign, point, and "0.0" before a short 10-key amount
        if spec.kind == "choice":
            return max(len(choice) for choice in spec.choices)
        return spec.width

    def _line_keys(self, width: int | None = None) -> list[tuple]:
        """One key per line: the fields, the message too long to stand beside its field (wrapped,
        never cut: one line or more, one empty line without it), the info line, the previous record."""
        width = self.size.width if width is None else width
        fit = max(width, 20)
        focused = self.has_focus
        message = self.error_text
        below = ""
        keys: list[tuple] = []
        for index, spec in enumerate(self._specs):
            current = index == self._index
            shown = self._display(spec, current)
            slot = max(self._slot_width(spec), len(shown) + 1)
            cursor = beside = None
            if current:
                if focused:  # at the insertion point, or at the end of a shown amount
                    cursor = self._pos if shown == self._buf[spec.name] else len(shown)
                if message:
                    if self._label_cells + cell_len(shown.ljust(slot)) + 2 + len(message) <= fit:
                        beside = message
                    else:
                        below = message
            keys.append(("field", fit, index, current, shown, slot, cursor, beside))
        lines_below = len(self._below_strips(below, width)) if below else 1
        keys += [("below", width, below, part) for part in range(lines_below)]
        keys.append(("info", fit, self.info))
        previous = self.previous
        if previous is not None:
            text = "  ".join(f"{spec.label} {previous.get(spec.name, '')}" for spec in self._specs)
            keys.append(("previous", fit, f"Previous: {text}"))
        else:
            keys.append(("previous", fit, None))
        return keys

    def _line_text(self, key: tuple) -> Text:
        """The Text of a field, info or previous line (cut to the width with an ellipsis)."""
        style = self.get_component_rich_style
        kind, fit = key[0], key[1]
        if kind == "field":
            _, _, index, current, shown, slot, cursor, beside = key
            spec = self._specs[index]
            line = Text(f"{spec.label:>{self._label_width}}  ", style=style("entry-form--label"), end="")
            value = Text(shown.ljust(slot), style=style("entry-form--current" if current else "entry-form--field"),
                         end="")
            if cursor is not None:
                value.stylize(style("entry-form--cursor"), cursor, cursor + 1)
            line.append_text(value)
            if beside:
                line.append("  " + beside, style=style("entry-form--error"))
        elif kind == "info":
            line = Text(key[2], style=style("entry-form--info"), end="")
        else:
            line = Text(key[2] or "", style=style("entry-form--previous") if key[2] else "", end="")
        line.truncate(fit, overflow="ellipsis")
        return line

    def _below_text(self, below: str) -> Text:
        return Text(below, style=self.get_component_rich_style("entry-form--error"), end="")

    def _below_strips(self, below: str, width: int) -> list[Strip]:
        """The message under the fields as drawn (wrapped); one empty line without one."""
        if width < 1:
            return [Strip.blank(0)]
        text = self._below_text(below)
        cache_key = (below, width, text.style)  # the style: a theme change draws it anew
        if self._below_cache[0] != cache_key:
            strips = Visual.to_strips(self, visualize(self, text), width, None, self.visual_style)
            self._below_cache = (cache_key, strips)
        return self._below_cache[1]

    def render(self) -> Text:
        """The whole form as one Text (what the lines show; for a subclass that draws itself whole)."""
        lines = []
        for key in self._line_keys(self.content_size.width):
            if key[0] == "below":
                if key[3] == 0:
                    lines.append(self._below_text(key[2]))  # wraps: a message is never cut
            else:
                lines.append(self._line_text(key))
        return Text("\n", end="").join(lines)

    @property
    def _draws_whole(self) -> bool:
        """A subclass that overrides render() is drawn whole by Textual, and refreshed whole."""
        return type(self).render is not EntryForm.render

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        if self._draws_whole:
            return super().get_content_height(container, viewport, width)
        self._painted_height = len(self._line_keys(width))
        return self._painted_height

    def render_line(self, y: int) -> Strip:
        if self._draws_whole:
            return super().render_line(y)
        keys = self._line_keys()
        width = self.size.width
        if y >= len(keys):
            return Strip.blank(width, self.visual_style.rich_style)
        key = keys[y]
        self._painted[y] = key
        if key[0] == "below":
            return self._below_strips(key[2], width)[key[3]]
        return Visual.to_strips(self, visualize(self, self._line_text(key)), width, 1, self.visual_style)[0]

    def _redraw(self) -> None:
        """Ask for the changed lines to be refreshed: once the form's keys are handled (_on_idle),
        not per key: in a burst the lines are compared once a frame, not once a key."""
        if self._draws_whole or not self.is_mounted:
            # A subclass drawn whole (LineInput) shows its message on a line under the text: the
            # widget grows for it and shrinks after (a layout only then, not per key).
            message = self.error_text
            self.refresh(layout=message != self._message_shown)
            self._message_shown = message
            return
        self._redraw_due = True
        self.check_idle()  # idle comes after the keys queued behind this one, or now if there are none

    def _on_idle(self, event: events.Idle) -> None:
        # Before Widget._on_idle, which sends the refreshed regions to the screen.
        if self._redraw_due:
            self._redraw_due = False
            self._refresh_changed()

    def _refresh_changed(self) -> None:
        """Refresh the lines that changed since they were painted (all when their number changed)."""
        keys = self._line_keys()
        if len(keys) != self._painted_height:
            self.refresh(layout=True)
            return
        painted = self._painted
        width = self.size.width
        changed = [Region(0, y, width, 1) for y, key in enumerate(keys) if painted.get(y) != key]
        if changed:
            self.refresh(*changed)


class EditForm(EntryForm):
    """An EntryForm over values on file (contacts, filters): Esc leaves the screen
    (its ``action_cancel``) instead of clearing what was loaded."""

    BINDINGS: ClassVar[list[BindingType]] = [bind("entry_form.clear_record", "clear_record", "Cancel")]

    def clear_record(self) -> None:
        self.screen.action_cancel()


class ListFilters(EditForm):
    """Filters above a list (order queue, collections worklist): the entry-form keys work, Esc
    leaves, and the Footer is left to the list screen's own keys."""

    BINDINGS: ClassVar[list[BindingType]] = [
        *QUIET_KEYS,
        bind("entry_form.clear_record", "clear_record", "Leave", show=False),
    ]
