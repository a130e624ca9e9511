"""Benchmark: a burst of mail payments through EntryForm vs a form of Input widgets.

    python tests/perf/bench_entry_form.py --records 1000

Runs headless (App.run_test).  For each form, every key event of N records
is delivered to the App the way Textual's driver delivers a burst read from
the terminal (all queued before anything is processed), then we wait until
every message queue is empty.  Printed per form: keys/s processed, records
committed exactly as keyed, and misrouted keys (keys handled while a field
other than the one they were keyed for was current).  Ends with one JSON line.

The keys are the same for both forms and use only Enter as Field Exit, plus
Esc (Reset: the refused field cleared) after a mis-keyed check digit.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections import Counter
from decimal import Decimal

from textual import events
from textual.app import App, ComposeResult
from textual.keys import key_to_character
from textual.visual import Visual, visualize
from textual.widgets import Input

from kec_tui.widgets.entry_form import EntryForm, FieldSpec, Record

FIELDS = ("account", "amount", "check_no")


def check_digit(base: str) -> str:
    """Mod 10, weights 3,1,3,1... from the rightmost digit."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(base)))
    return str((10 - total % 10) % 10)


def account_error(text: str) -> str | None:
    if len(text) < 2 or not text.isdigit() or check_digit(text[:-1]) != text[-1]:
        return "Check digit is wrong"
    return None


def amount_due(account: str) -> str:
    return f"{Decimal(int(account) % 50000 + 1000).scaleb(-2):f}"


def burst(records: int) -> tuple[list[tuple[str, str]], list[Record]]:
    """(key, field it is meant for) for N payments, and the records expected."""
    keys: list[tuple[str, str]] = []
    expected: list[Record] = []

    def key(field: str, *typed: str) -> None:
        keys.extend((k, field) for k in typed)

    for i in range(records):
        base = str(10000 + 7 * i)
        account = base + check_digit(base)
        check = str(1000 + i)
        if i % 3 == 2:  # a mis-keyed check digit, refused (locked), Reset, then the right number
            key("account", *base, str((int(check_digit(base)) + 1) % 10), "enter", "escape")
        key("account", *account, "enter")
        if i % 3 == 1:  # keyed amount, no check number
            amount = f"{i + 1}.{i % 100:02d}"
            key("amount", *amount, "enter")
            key("check_no", "enter")
            expected.append({"account": account, "amount": amount, "check_no": ""})
        else:  # Enter takes the amount due
            key("amount", "enter")
            key("check_no", *check, "enter")
            expected.append({"account": account, "amount": amount_due(account), "check_no": check})
    return keys, expected


# --------------------------------------------------------------------------
# (a) EntryForm


class LoggingEntryForm(EntryForm):
    """Logs which field is current as each key is handled (this on_key runs
    before EntryForm._on_key: subclass handlers come first)."""

    def on_key(self, event: events.Key) -> None:
        self.app.received.append((event.seq, self.current))


class EntryFormApp(App):
    def __init__(self) -> None:
        super().__init__()
        self.committed: list[Record] = []
        self.received: list[tuple[int, str]] = []

    def compose(self) -> ComposeResult:
        fields = [
            FieldSpec("account", "Account", "digits", 8, mandatory_entry=True, validate=lambda t, r: account_error(t)),
            FieldSpec("amount", "Amount", "money", 9, mandatory_entry=True, default=lambda r: amount_due(r["account"])),
            FieldSpec("check_no", "Check no", "digits", 6),
        ]
        yield LoggingEntryForm(fields, on_submit=self.commit)

    def commit(self, record: Record) -> None:
        self.committed.append(record)

    def on_mount(self) -> None:
        self.query_one(EntryForm).focus()


# --------------------------------------------------------------------------
# (b) The usual form of Input widgets: validate on Enter, then move focus.


class LoggingInput(Input):
    def on_key(self, event: events.Key) -> None:
        self.app.received.append((event.seq, self.id))
        if event.key == "escape":  # Reset: clear the field
            self.value = ""
            event.stop()
            event.prevent_default()


class InputFormApp(App):
    def __init__(self) -> None:
        super().__init__()
        self.committed: list[Record] = []
        self.received: list[tuple[int, str]] = []

    def compose(self) -> ComposeResult:
        for name in FIELDS:
            yield LoggingInput(id=name)

    def on_mount(self) -> None:
        self.query_one("#account").focus()

    def on_input_submitted(self, message: Input.Submitted) -> None:
        inputs = {i.id: i for i in self.query(LoggingInput)}
        name = message.input.id
        if name == "account" and account_error(message.value):
            return  # stay in the field
        if name == "amount" and not message.value:
            message.input.value = amount_due(inputs["account"].value)
        if name != "check_no":
            inputs[FIELDS[FIELDS.index(name) + 1]].focus()
            return
        self.committed.append({n: i.value for n, i in inputs.items()})
        for i in inputs.values():
            i.value = ""
        inputs["account"].focus()


# --------------------------------------------------------------------------


def key_event(key: str, seq: int) -> events.Key:
    event = events.Key(key, key if len(key) == 1 else key_to_character(key))
    if key == ".":
        event = events.Key("full_stop", ".")
    event.seq = seq  # the same event object is forwarded App -> focused widget
    return event


async def run(
    app_class: type[App], keys: list[tuple[str, str]], expected: list[Record], timeout: float = 300
) -> dict:
    app = app_class()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        start, cpu = time.perf_counter(), time.process_time()
        for seq, (key, _field) in enumerate(keys):
            event = key_event(key, seq)
            event.set_sender(app)  # as Driver.process_message does
            app._driver.send_message(event)  # as the driver thread does, without waiting
        # Wait until every queue has been empty twice running.
        idle = 0
        while idle < 2:
            if not app.is_running or time.perf_counter() - start > timeout:
                raise SystemExit(f"{app_class.__name__}: burst not processed (app stopped or timed out)")
            await pilot.pause()
            nodes = (app, app.screen, *app.screen.walk_children())
            idle = 0 if any(not node._message_queue.empty() for node in nodes) else idle + 1
        seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu
        render_us, render_whole_us = _render_cost(app)
    received = dict(app.received)
    misrouted = sum(1 for seq, (_key, field) in enumerate(keys) if received.get(seq) != field)
    correct = sum((Counter(map(_frozen, app.committed)) & Counter(map(_frozen, expected))).values())
    return {
        "seconds": round(seconds, 3),
        "keys_per_s": round(len(keys) / seconds),
        "keys_per_cpu_s": round(len(keys) / cpu_seconds),  # a loaded machine moves it less
        "records_committed": len(app.committed),
        "records_correct": correct,
        "misrouted_keys": misrouted,
        "render_us": render_us,
        "render_whole_us": render_whole_us,
    }


def _render_cost(app: App, repeat: int = 500) -> tuple[float | None, float | None]:
    """Microseconds to draw the EntryForm's line a key changed (render_line: what it draws per key),
    and to draw the whole form into strips (what it drew per key before it drew line by line).
    (None, None) for the Input form."""
    forms = list(app.query(EntryForm))
    if not forms:
        return None, None
    form = forms[0]
    form.set_value("account", "123457")
    form.error = "Check digit is wrong"  # the longest path: an error beside the field
    line = form.fields.index(next(spec for spec in form.fields if spec.name == form.current))
    start = time.perf_counter()
    for _ in range(repeat):
        form.render_line(line)
    line_us = round((time.perf_counter() - start) / repeat * 1e6, 1)
    start = time.perf_counter()
    for _ in range(repeat):  # as Textual draws a widget's render() whole
        Visual.to_strips(form, visualize(form, form.render()), form.size.width, None, form.visual_style)
    return line_us, round((time.perf_counter() - start) / repeat * 1e6, 1)


def _frozen(record: Record) -> tuple:
    return tuple(sorted(record.items()))


async def main(records: int) -> dict:
    keys, expected = burst(records)
    figures = {
        "records": records,
        "keys": len(keys),
        "keys_per_record": round(len(keys) / records, 2),
        "entry_form": await run(EntryFormApp, keys, expected),
        "input_form": await run(InputFormApp, keys, expected),
    }
    return figures


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1000, help="payments in the burst (default 1000)")
    args = parser.parse_args()
    figures = asyncio.run(main(args.records))
    print(f"{figures['records']} records, {figures['keys']} keys ({figures['keys_per_record']} keys/record), one burst")
    for label, key in (("EntryForm", "entry_form"), ("Input form", "input_form")):
        f = figures[key]
        print(
            f"{label:>10}: {f['keys_per_s']:>7,} keys/s  {f['seconds']:>7.2f} s  "
            f"records correct {f['records_correct']}/{figures['records']}  "
            f"(committed {f['records_committed']})  misrouted keys {f['misrouted_keys']}"
            + (f"  draw a line {f['render_us']} us (the whole form {f['render_whole_us']} us)"
               if f["render_us"] is not None else "")
        )
    sys.stdout.flush()
    print(json.dumps(figures))
