"""The reading exceptions queue on the real program in tmux at 80x24: an AMI file's refused reads
worked as one burst from the reading screen (accept, re-read order, correct), a correction lower
than the last that locks with the keys behind it held, and an AMI file imported from the queue.
The database is read after each burst."""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from kec_tui import db
from kec_tui.services import operators, readings
from tests import factories
from tests.e2e.test_batch_e2e import KEC_TUI
from tests.e2e.tmux import Terminal

pytestmark = pytest.mark.e2e
TODAY = dt.date.today()


def state(dbfile: Path) -> tuple[list[str], dict[str, int]]:
    """(the queue rows' statuses, oldest first; meter -> reading saved today)."""
    db.connect(str(dbfile))
    try:
        X, R = db.ReadingException, db.Reading
        return ([x.status for x in X.select().order_by(X.id)],
                {r.meter.meter_no: r.reading for r in R.select().where(R.read_date == TODAY)})
    finally:
        db.database.close()


def test_the_exceptions_queue_worked_in_bursts_in_tmux(tmp_path):
    if not KEC_TUI.exists():
        pytest.skip(f"{KEC_TUI} is not installed")
    dbfile = tmp_path / "coop.db"
    db.connect(str(dbfile))
    clerk = operators.create("bill1", "Robin Reader", "billing")
    accts = [factories.account(first=f"Queue{i}", last=f"Member{i}", bills=(5_000,) * 3, bill_cycle=4)
             for i in range(5)]
    for a in accts:
        db.Reading.create(account=a, meter=a.meter, read_date=TODAY - dt.timedelta(days=30), reading=3000, kwh=850)
    m = [a.meter.meter_no for a in accts]
    reads = ["3000", "2000", "3x0", "2500"]                    # no use, lower, letters, lower
    readings.import_ami_csv(clerk, "meter,read_at,reading\n" + "".join(
        f"{meter},{TODAY},{r}\n" for meter, r in zip(m, reads)), "route4.csv")
    db.database.close()
    ami = tmp_path / "reads.csv"
    ami.write_text(f"meter,read_at,reading\n{m[4]},{TODAY},3850\nNOPE7,{TODAY},12\n")
    env = {"XDG_DATA_HOME": str(tmp_path / "data"), "XDG_CONFIG_HOME": str(tmp_path / "config"),
           "KEC_TUI_CONFIG": str(tmp_path / "none.toml")}
    term = Terminal(f"{KEC_TUI} --db {dbfile} --operator bill1", width=80, height=24, env=env)
    try:
        term.wait_for("Lookup", timeout=30)
        # One burst: the reading screen, the queue, accept, re-read order, correct 3900.
        term.send("C-y", "F6", "F8", "F9", "Enter", "3", "9", "0", "0", "Enter")
        term.wait_for("corrected reading 3,900 saved")
        assert state(dbfile) == (["accepted", "reread", "corrected", "open"], {m[0]: 3000, m[2]: 3900})
        assert "Reading exceptions: 1 open" in term.screen()
        # The last row corrected with 2900: lower, the form locks; "3900 Enter" behind it is held.
        term.send("Enter", "2", "9", "0", "0", "Enter", "3", "9", "0", "0", "Enter")
        shown = re.sub(r"[│\s]+", " ", term.wait_for("not used"))
        assert "lower than the last 3,000" in shown and "5 keys typed after it were not used" in shown
        assert state(dbfile) == (["accepted", "reread", "corrected", "open"], {m[0]: 3000, m[2]: 3900})
        term.send("Escape", "3", "8", "0", "0", "Enter")
        term.wait_for("corrected reading 3,800 saved")
        # F7: the AMI file's path; its result names the refused line.
        term.send("F7")
        term.wait_for("Import AMI / handheld reads")
        term.type(str(ami))
        term.send("Enter")
        shown = re.sub(r"[│\s]+", " ", term.wait_for("Import done"))
        assert "2 rows read, 1 written, 1 to the exceptions queue" in shown and "line 3: meter NOPE7" in shown
        statuses, saved = state(dbfile)
        assert statuses == ["accepted", "reread", "corrected", "corrected", "open"]
        assert saved == {m[0]: 3000, m[2]: 3900, m[3]: 3800, m[4]: 3850}
    finally:
        term.close()
