"""Settings: typed fields from the TOML file, KEC_TUI_<NAME> and flags; bad keys and values refused by name."""
import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from kec_tui import cli, config
from kec_tui.services import fees, lockbox


@pytest.fixture
def clean_env(monkeypatch):
    for name in config.TYPES:
        monkeypatch.delenv(config.ENV_PREFIX + name.upper(), raising=False)
    return monkeypatch


def write(tmp_path, text: str):
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def test_file_then_environment_then_flags(tmp_path, clean_env):
    path = write(tmp_path, 'db = "file.db"\nidle_lock_minutes = 3\ntenkey = true\nscan_account_width = 12\n'
                           'trip_fee_cents = 3000\nholidays = ["2025-12-25", 2026-01-01]\nreports_dir = "/r"\n'
                           '[lockbox_csv_columns]\naccount = "Cust Ref"\namount = "Pmt Amt"\n')
    s = config.load(path)
    assert (s.db, s.idle_lock_minutes, s.tenkey, s.scan_account_width, s.reports_dir) == ("file.db", 3, True, 12, "/r")
    assert s.holidays == (dt.date(2025, 12, 25), dt.date(2026, 1, 1))
    assert lockbox.mapping_from_settings(s) == {"account": "Cust Ref", "amount": "Pmt Amt"}
    schedule = fees.schedule_from(s)
    assert (schedule.trip_cents, schedule.membership_cents) == (3000, 500)
    assert schedule.holidays == frozenset(s.holidays)

    clean_env.setenv("KEC_TUI_IDLE_LOCK_MINUTES", "0")
    clean_env.setenv("KEC_TUI_TENKEY", "no")
    clean_env.setenv("KEC_TUI_DB", "env.db")
    s = config.load(path)
    assert (s.db, s.idle_lock_minutes, s.tenkey) == ("env.db", 0, False)
    assert config.load(path, db="flag.db", operator=None).db == "flag.db"


def test_defaults_without_a_file(tmp_path, clean_env):
    s = config.load(tmp_path / "none.toml")
    assert s == config.Settings()
    assert lockbox.mapping_from_settings(s) is None
    assert fees.schedule_from(s).late_fee_percent == Decimal("1.5")


@pytest.mark.parametrize("text,needle", [
    ("idle_lock = 5\n", "unknown setting 'idle_lock'"),
    ('idle_lock_minutes = "ten"\n', "setting idle_lock_minutes must be a whole number, not 'ten'"),
    ("idle_lock_minutes = true\n", "setting idle_lock_minutes must be a whole number"),
    ("trip_fee_cents = -5\n", "setting trip_fee_cents must be 0 or more"),
    ("trip_fee_cents = 25.00\n", "setting trip_fee_cents must be a whole number"),
    ("scan_amount_width = 0\n", "setting scan_amount_width must be at least 1"),
    ('tenkey = "yes"\n', "setting tenkey must be true or false"),
    ("db = 5\n", "setting db must be text"),
    ('late_fee_percent = "lots"\n', "setting late_fee_percent must be a number"),
    ('holidays = ["Christmas"]\n', "setting holidays: 'Christmas' is not a date"),
    ("lockbox_csv_columns = 3\n", "setting lockbox_csv_columns must be a table"),
    ("db = \n", "cannot read the settings file"),
])
def test_a_bad_file_names_the_key(tmp_path, clean_env, text, needle):
    path = write(tmp_path, text)
    with pytest.raises(config.SettingsError, match=needle.replace("(", r"\(")):
        config.load(path)


def test_a_bad_environment_value_names_the_variable(tmp_path, clean_env):
    clean_env.setenv("KEC_TUI_IDLE_LOCK_MINUTES", "soon")
    with pytest.raises(config.SettingsError, match="KEC_TUI_IDLE_LOCK_MINUTES must be a whole number"):
        config.load(tmp_path / "none.toml")


def test_the_command_line_prints_one_line_not_a_traceback(tmp_path, clean_env, capsys):
    path = write(tmp_path, "reconect_fee_cents = 4000\n")
    assert cli.main(["--config", str(path), "operator", "list"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"kec-tui: {path}: unknown setting 'reconect_fee_cents'")
    assert err.count("\n") == 1 and "Traceback" not in err


def test_the_readme_settings_example_loads(tmp_path, clean_env):
    """The README's settings block is a valid file naming every setting, so it stays true."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("## Settings", 1)[1].split("\n## ", 1)[0]
    block = "\n".join(line[4:] for line in section.splitlines() if line.startswith("    "))
    s = config.load(write(tmp_path, block))
    named = {line.split("=")[0].strip() for line in block.splitlines() if "=" in line}
    named |= {"lockbox_csv_columns", "bill_cycle_days"}
    assert set(config.TYPES) <= named, set(config.TYPES) - named
    assert s.holidays == (dt.date(2025, 12, 25), dt.date(2026, 1, 1)) and s.tenkey is False
