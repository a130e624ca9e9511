"""Printing through CUPS `lp`: a fake `lp` on PATH (a real process that records its arguments),
no `lp` at all, no printer set up, and a spooler that refuses the job. The PDF is kept in every case."""
from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from kec_tui.services import printing
from kec_tui.services.errors import ValidationError

FAKE_LP = """#!/bin/sh
printf '%s\\n' "$@" > "{log}"
{tail}
"""


def fake_lp(bin_dir: Path, log: Path, tail: str = 'echo "request id is front-7 (1 file(s))"') -> None:
    bin_dir.mkdir(parents=True, exist_ok=True)
    lp = bin_dir / "lp"
    lp.write_text(FAKE_LP.format(log=log, tail=tail))
    lp.chmod(lp.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


@pytest.fixture
def pdf(tmp_path) -> Path:
    path = tmp_path / "reports" / "register-2025-01.pdf"
    path.parent.mkdir()
    path.write_bytes(b"%PDF-1.4\n%fake\n")
    return path


def test_a_pdf_goes_to_the_printer_in_the_settings_through_lp(tmp_path, pdf, monkeypatch):
    log = tmp_path / "lp-args"
    fake_lp(tmp_path / "bin", log)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    done = printing.print_pdf(pdf, "front-counter")
    assert log.read_text().splitlines() == ["-d", "front-counter", str(pdf.resolve())]
    assert done.printed and done.printer == "front-counter" and done.job == "request id is front-7 (1 file(s))"
    assert pdf.is_file() and "kept at" in done.message and str(pdf) in done.message


def test_without_lp_the_pdf_is_saved_and_the_message_says_where(tmp_path, pdf, monkeypatch):
    empty = tmp_path / "nothing"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    done = printing.print_pdf(pdf, "front-counter")
    assert not done.printed and pdf.is_file()
    assert "lp" in done.message and str(pdf) in done.message


def test_without_a_printer_set_up_lp_is_not_called(tmp_path, pdf, monkeypatch):
    log = tmp_path / "lp-args"
    fake_lp(tmp_path / "bin", log)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    done = printing.print_pdf(pdf, "")
    assert not done.printed and not log.exists()
    assert done.message == f"No printer is set up (setting printer): the PDF is saved at {pdf.resolve()}"


def test_a_refused_job_keeps_the_pdf_and_says_why(tmp_path, pdf, monkeypatch):
    log = tmp_path / "lp-args"
    fake_lp(tmp_path / "bin", log, tail='echo "lp: The printer or class does not exist." >&2; exit 1')
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    done = printing.print_pdf(pdf, "nosuch")
    assert not done.printed and pdf.is_file()
    assert "does not exist" in done.message and str(pdf.resolve()) in done.message


def test_a_printer_name_that_is_not_a_queue_is_refused_before_lp(tmp_path, pdf, monkeypatch):
    log = tmp_path / "lp-args"
    fake_lp(tmp_path / "bin", log)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    for bad in ("-o evil", "front counter", "a;b"):
        with pytest.raises(ValidationError):
            printing.print_pdf(pdf, bad)
    assert not log.exists()


def test_nothing_to_print_when_the_pdf_was_not_written(tmp_path):
    with pytest.raises(ValidationError, match="was not written"):
        printing.print_pdf(tmp_path / "missing.pdf", "front-counter")
