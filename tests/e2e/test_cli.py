"""The command line answers bad starts with a message, never a traceback."""
import subprocess

from tests.e2e.conftest import KEC_TUI


def run(*args, env=None):
    return subprocess.run([KEC_TUI, *args], capture_output=True, text=True, timeout=60, env=env)


def test_unreachable_database_url():
    r = run("--db", "postgresql://postgres@127.0.0.1:1/nowhere", "--operator", "msr1")
    assert r.returncode == 2
    assert "Cannot open the database postgresql://postgres@127.0.0.1:1/nowhere" in r.stderr
    assert "Traceback" not in r.stderr + r.stdout


def test_unknown_operator(small_coop):
    r = run("--db", str(small_coop), "--operator", "nobody")
    assert r.returncode == 2 and "No active operator named 'nobody'" in r.stderr


def test_unknown_account_to_open(small_coop):
    r = run("--db", str(small_coop), "--operator", "msr1", "run", "--account", "123458")
    assert r.returncode == 2 and "check digit" in r.stderr


def test_operator_add_and_list(small_coop):
    r = run("--db", str(small_coop), "operator", "add", "jdoe", "--name", "Jane Doe", "--role", "billing")
    assert r.returncode == 0, r.stderr
    r = run("--db", str(small_coop), "operator", "list")
    assert "jdoe" in r.stdout and "billing" in r.stdout
    r = run("--db", str(small_coop), "operator", "add", "x1", "--name", "X", "--role", "king")
    assert r.returncode == 2 and "Role must be one of" in r.stderr


def test_demo_refuses_to_overwrite(small_coop):
    r = run("--db", str(small_coop), "demo", "--accounts", "10", "--months", "1")
    assert r.returncode == 2 and "add --force" in r.stderr


def test_demo_says_how_to_sign_in_as_its_supervisor(tmp_path):
    from kec_tui import db
    from kec_tui.cli import DEMO_SUPERVISOR_PASSWORD
    from kec_tui.services import passwords

    path = tmp_path / "demo.db"
    r = run("--db", str(path), "demo", "--accounts", "20", "--months", "1")
    assert r.returncode == 0, r.stderr
    assert f"To sign in as the demo supervisor: kec-tui --db {path} --operator super" in r.stdout
    assert f"password (asked for an override, over serve-ssh and serve-web): {DEMO_SUPERVISOR_PASSWORD}" in r.stdout
    db.connect(str(path))
    try:
        boss = db.Operator.get(db.Operator.username == "super")
        assert boss.role == "supervisor" and passwords.verify_password(DEMO_SUPERVISOR_PASSWORD, boss.password_hash)
    finally:
        db.database.close()
