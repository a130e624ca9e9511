"""Printing: a report, receipt, work ticket, letter or statement PDF through the system's print
spooler (CUPS `lp -d PRINTER file`), the PDF kept where it was written.

The printer is the setting `printer` (a CUPS queue name, as `lpstat -p` lists them). Where no printer
is set up, or `lp` is not installed, or the spooler refuses the job, nothing is lost: the PDF stays
saved and the message says where. Screens call `print_pdf` in a thread worker (lp may wait on a
network printer); the app's print key (`app.print`) asks the screen on top for its PDF.
"""
from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from kec_tui.services.errors import ValidationError

LP_TIMEOUT_SECONDS = 30
QUEUE_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.@")


@dataclass(frozen=True)
class PrintResult:
    pdf: Path            # the PDF, kept in any case
    printed: bool        # handed to the spooler
    printer: str         # the queue it went to ("" when not printed)
    job: str             # lp's answer ("request id is Front-12 (1 file(s))"), "" when not printed
    message: str         # one line for the operator


def check_printer(name: str) -> str:
    """A CUPS queue name as the setting gives it (empty: no printer); anything else is refused."""
    name = (name or "").strip()
    if name and (not set(name) <= QUEUE_CHARS or name.startswith("-") or len(name) > 127):
        raise ValidationError(f"Printer {name!r} is not a print queue name (letters, digits, - _ . @)", "printer")
    return name


def lp_path() -> str | None:
    """The `lp` program on PATH, or None where CUPS' client is not installed."""
    return shutil.which("lp")


def print_pdf(pdf: str | Path, printer: str, *, copies: int = 1) -> PrintResult:
    """Send `pdf` to `printer` with lp. Never raises for a missing printer or spooler: the result
    says the PDF is saved and where. A PDF that does not exist is a ValidationError."""
    path = Path(pdf).expanduser().resolve()
    if not path.is_file():
        raise ValidationError(f"Nothing to print: {path} was not written", "pdf")
    printer = check_printer(printer)
    if not printer:
        return PrintResult(path, False, "", "", f"No printer is set up (setting printer): the PDF is saved at {path}")
    lp = lp_path()
    if lp is None:
        return PrintResult(path, False, "", "", f"The print spooler (lp) is not installed here: the PDF is saved "
                                                f"at {path}")
    args = [lp, "-d", printer]
    if copies > 1:
        args += ["-n", str(int(copies))]
    args.append(str(path))
    try:
        done = subprocess.run(args, capture_output=True, text=True, timeout=LP_TIMEOUT_SECONDS, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return PrintResult(path, False, "", "", f"Not printed ({type(exc).__name__}): the PDF is saved at {path}")
    if done.returncode != 0:
        why = (done.stderr or done.stdout or f"exit status {done.returncode}").strip().splitlines()[0][:120]
        return PrintResult(path, False, "", "", f"{printer} did not take it ({why}): the PDF is saved at {path}")
    job = (done.stdout or "").strip().splitlines()[0][:120] if (done.stdout or "").strip() else ""
    return PrintResult(path, True, printer, job, f"Sent to {printer}" + (f" ({job})" if job else "")
                       + f"; the PDF is kept at {path}")
