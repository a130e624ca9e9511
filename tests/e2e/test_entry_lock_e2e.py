"""An error locks the keyboard, on the real program: in tmux, and Esc+digit over serve-ssh.

Each case is one burst (tmux send-keys -l, or one write on the SSH channel): the keys typed after
the refusal must be held and counted, no wrong line written, and after Esc (Reset) keying goes on
and writes exactly the next line. The database is read after each case.
"""
from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path

import pytest

from kec_tui import db
from kec_tui.checkdigit import make_scan_line
from kec_tui.services import batches, operators, passwords
from tests import factories
from tests.e2e.test_batch_e2e import KEC_TUI, start
from tests.e2e.test_ssh import ENTER, ESC, F3, F5, PASSWORD, SSHServer, SSHTerminal
from tests.e2e.tmux import Terminal

pytestmark = pytest.mark.e2e


def lines_in(dbfile: Path) -> list[tuple[int, int, str]]:
    db.connect(str(dbfile))
    try:
        found = batches.list_batches()
        return [(ln.account_number, ln.amount_cents, ln.check_no) for ln in batches.lines(found[0].id)] if found else []
    finally:
        db.database.close()


def flat(screen: str) -> str:
    """The screen as one line: a wrapped message reads whole."""
    return re.sub(r"\s+", " ", screen)


def wait_for_flat(term: Terminal, text: str, timeout: float = 15.0) -> str:
    deadline = time.monotonic() + timeout
    shown = ""
    while time.monotonic() < deadline:
        shown = flat(term.screen())
        if text in shown:
            return shown
        time.sleep(0.1)
    raise AssertionError(f"{text!r} did not appear within {timeout}s; the screen shows:\n{term.screen()}")


def paste(term: Terminal, text: str) -> None:
    """A bracketed paste, as a terminal sends a clipboard (line ends as Enter)."""
    term._tmux("set-buffer", "-b", "clip", text)
    term._tmux("paste-buffer", "-p", "-b", "clip", "-t", term.session)


def coop(dbfile: Path, count: int) -> list[int]:
    db.connect(str(dbfile))
    operators.create("msr1", "Pat Keyer", "msr")
    passwords.set_password("msr1", PASSWORD)
    numbers = [factories.account(first=f"Lock{i}", last=f"Member{i}", bills=(10_000 + 1_000 * i,)).number
               for i in range(count)]
    db.database.close()
    return numbers


def test_error_locks_the_keyboard_in_tmux(tmp_path):
    if not Path(KEC_TUI).exists():
        pytest.skip(f"{KEC_TUI} is not installed")
    dbfile = tmp_path / "coop.db"
    n = coop(dbfile, 6)
    term = start(tmp_path, dbfile)
    try:
        term.send("F3")
        term.wait_for("Payment batches")
        term.send("F5")
        term.wait_for("Control total")
        term.type("\r\r10\r1000.00\r")
        term.wait_for("Keyed 0 / 10")

        # A truncated scan line, then the next stub's scan at once: nothing written, 22 keys held.
        truncated, scan = make_scan_line(n[0], 1_243)[:20], make_scan_line(n[1], 4_567)
        term.type(truncated + "\r" + scan + "\r")
        wait_for_flat(term, "Scan line has 20 digits, expected 21 (truncated?). 22 keys typed after it "
                            "were not used. Esc to go on")
        assert lines_in(dbfile) == []
        term.send("Escape")  # Reset (a tmux key of its own: not read together with what follows)
        time.sleep(0.5)
        term.type(scan + "\r")
        term.wait_for("Keyed 1 / 10")
        assert lines_in(dbfile) == [(n[1], 4_567, "")]

        # A refused amount, then the rest of the stub and the next stub typed ahead.
        ahead = f"12.43\r5001\r{n[3]}\r30.00\r5002\r"
        term.type(f"{n[2]}\r0\r" + ahead)
        wait_for_flat(term, f"{len(ahead)} keys typed after it were not used")
        assert lines_in(dbfile) == [(n[1], 4_567, "")]
        term.send("Escape")
        time.sleep(0.5)
        term.type(ahead)
        term.wait_for("Keyed 3 / 10")
        assert lines_in(dbfile)[1:] == [(n[2], 1_243, "5001"), (n[3], 3_000, "5002")]

        # A multi-line paste (rows of a spreadsheet) into the account field, then keys: refused whole.
        paste(term, f"{n[4]}\t12.00\n{n[5]}\t13.00\n")
        term.type("5003\r")
        wait_for_flat(term, "Account: a paste of 2 lines is refused")
        wait_for_flat(term, "5 keys typed after it were not used")
        assert len(lines_in(dbfile)) == 3
        term.send("Escape")
        time.sleep(0.5)
        term.type(f"{n[4]}\r")
        term.wait_for("Amount")
        paste(term, "12.00\n13.00\n")  # and into the amount field
        wait_for_flat(term, "Amount: a paste of 2 lines is refused")
        term.send("Escape")
        time.sleep(0.5)
        term.type("12.00\r5003\r")
        term.wait_for("Keyed 4 / 10")
        assert lines_in(dbfile)[3:] == [(n[4], 1_200, "5003")]

        # Esc then the account at once: the terminal reads Alt+digit; it is Esc (clear), then the digit.
        term.type(f"999\x1b{n[5]}\r45.67\r5004\r")
        term.wait_for("Keyed 5 / 10")
        assert lines_in(dbfile)[4:] == [(n[5], 4_567, "5004")]
    finally:
        term.close()


async def test_esc_then_digit_over_ssh_is_esc_then_the_digit(tmp_path):
    dbfile = tmp_path / "coop.db"
    n = coop(dbfile, 3)
    server = SSHServer(dbfile, tmp_path)
    try:
        term = await SSHTerminal.open(server.port)
        try:
            term.type(F3)
            await term.wait_for("Payment batches")
            term.type(F5)
            await term.wait_for("Control total")
            term.type("\r\r10\r1000.00\r")
            await term.wait_for("Keyed 0 / 10")
            # A wrong account half keyed, Esc and the right one in one write: within ESCDELAY (250 ms).
            term.type(f"999{ESC}{n[0]}{ENTER}45.67{ENTER}5001{ENTER}")
            await term.wait_for("Keyed 1 / 10")
            # Locked by a refused amount: Esc+digit is Reset, then the digit in the amount.
            term.type(f"{n[1]}{ENTER}x{ESC}12.43{ENTER}5002{ENTER}")
            await term.wait_for("Keyed 2 / 10")
            await asyncio.sleep(0.2)
        finally:
            await term.close()
    finally:
        server.stop()
    assert lines_in(dbfile) == [(n[0], 4_567, "5001"), (n[1], 1_243, "5002")]
