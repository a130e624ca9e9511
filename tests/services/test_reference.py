"""Policies, procedures, training documents and the rate schedules at hand (services/reference.py)."""
from __future__ import annotations

import ast
import datetime as dt
from pathlib import Path

import pytest

from kec_tui.services import rates, reference
from kec_tui.services.errors import NotFound
from tests.services.rate_file import RATES

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = {"credit-and-collection", "deposits", "disconnect-rules", "capital-credits", "meter-access"}


def test_the_shipped_documents_are_copied_when_missing_and_never_over_an_edit(tmp_path):
    docs = tmp_path / "policies"
    (docs).mkdir()
    (docs / "deposits.md").write_text("# Deposits\n\nOur own deposit rule: $150.\n")
    copied = reference.ensure_documents(docs)
    assert docs / "deposits.md" not in copied and "$150" in (docs / "deposits.md").read_text()
    names = {d.name for d in reference.documents(docs)}
    assert SHIPPED <= names and "training/online-account-help" in names and reference.RATES in names
    assert reference.ensure_documents(docs) == []          # a second time: nothing to copy


def test_kinds_titles_and_order(tmp_path):
    reference.ensure_documents(tmp_path)
    docs = reference.documents(tmp_path)
    kinds = [d.kind for d in docs]
    assert kinds == sorted(kinds, key=["policy", "training", "rates"].index)
    assert reference.find(tmp_path, "disconnect-rules").title == "Disconnect rules"


def test_search_needs_every_word_in_any_case_and_order(tmp_path, sqlite_db):
    reference.ensure_documents(tmp_path)
    hits = reference.search(tmp_path, "WINTER medical")
    names = [h.document.name for h in hits]
    assert names[0] == "disconnect-rules" and "capital-credits" not in names
    assert all("winter" in reference.read(tmp_path, n).lower() for n in names)
    assert reference.search(tmp_path, "rotation 6.31%")[0].document.name == "capital-credits"
    assert reference.search(tmp_path, "no such words zebra") == []
    assert len(reference.search(tmp_path, "")) == len(reference.documents(tmp_path))


def test_a_name_outside_the_folder_is_not_read(tmp_path):
    (tmp_path / "secret.md").write_text("# Secret\n")
    docs = tmp_path / "policies"
    reference.ensure_documents(docs)
    with pytest.raises(NotFound):
        reference.read(docs, "../secret")
    with pytest.raises(NotFound):
        reference.read(docs, "nosuch")


def test_the_rate_schedules_come_from_the_stored_rates(database):
    rates.load_text(None, RATES)
    text = rates.schedules_markdown(dt.date(2025, 6, 1))
    assert "## RES Residential" in text and "in force since 03/16/2025" in text
    assert "Customer charge: $27.00 a month" in text
    assert "first 1,000 kWh $0.095/kWh, over 1,000 kWh $0.118/kWh" in text
    assert "$25.00" not in text.split("## RES")[1].split("##")[0]    # the older version is not shown
    docs = Path("unused")
    assert reference.read(docs, reference.RATES) == rates.schedules_markdown()


def test_the_wheel_carries_every_shipped_document():
    """setup.py's package data names every .md under kec_tui/data/policies, so `pip install .` has them."""
    tree = ast.parse((ROOT / "setup.py").read_text())
    globs = next(ast.literal_eval(kw.value) for node in ast.walk(tree) if isinstance(node, ast.Call)
                 for kw in node.keywords if kw.arg == "package_data")["kec_tui"]
    package = ROOT / "kec_tui"
    for path in (package / "data" / "policies").rglob("*.md"):
        rel = path.relative_to(package)
        assert any(rel.match(g) for g in globs), f"{rel} is not in setup.py package_data"
