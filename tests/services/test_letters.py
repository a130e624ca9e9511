"""Letters from the co-op's Jinja2 templates: rendered to PDF, logged on the account with their
text; a template with an unknown field (or that does not parse) is refused and nothing is logged."""
import datetime as dt

import pytest

from kec_tui import db
from kec_tui.services import letters, operators
from tests import factories
from tests.support.pdf import pdf_text

TODAY = dt.date(2026, 1, 15)


@pytest.fixture
def places(tmp_path):
    saved = letters.places()
    p = letters.use(tmp_path / "templates", tmp_path / "out")
    yield p
    letters.use(saved.templates, saved.output)


@pytest.fixture
def collector(database_any):
    return operators.create("coll1", "Casey Collector", "collections")


def test_a_shipped_letter_is_rendered_written_and_logged_with_its_text(database, places, collector):
    a = factories.account(first="Grace", last="Hopper", bills=(12_000,))
    info = letters.send(collector, a.id, "collection_letter", {"past_due": "$120.00"}, reference="TEST 1",
                        today=TODAY)
    assert info.title == "PAST-DUE BALANCE REMINDER"
    assert "Grace Hopper" in info.text and "$120.00 past due" in info.text and "January 15, 2026" in info.text
    assert f"Account {a.number}" in info.text and "balance $120.00" in info.text
    row = db.Letter.get_by_id(info.id)
    assert (row.account_id, row.template, row.text, row.reference) == (a.id, "collection_letter", info.text, "TEST 1")
    path = places.output / letters.file_name(info.id, a.number, "collection_letter")
    assert info.pdf_path == str(path) and path.exists()
    shown = pdf_text(path.read_bytes())
    assert "PAST-DUE BALANCE REMINDER" in shown and "Grace Hopper" in shown
    assert db.AuditLog.get(db.AuditLog.action == "letter.send").account_id == a.id
    assert [x.id for x in letters.for_account(a.id)] == [info.id]


def test_the_coops_own_template_comes_first_and_defaults_are_copied_to_edit(database, places, collector):
    a = factories.account()
    copied = letters.install_defaults()
    assert {p.name for p in copied} >= {"disconnect_notice.txt.j2", "collection_letter.txt.j2"}
    assert letters.install_defaults() == []             # never over the co-op's own
    (places.templates / "collection_letter.txt.j2").write_text("OUR OWN REMINDER\nDear {{ member_name }}: "
                                                               "{{ past_due }}.\n")
    (places.templates / "thank_you.txt.j2").write_text("THANK YOU\n{{ member_name }}\n")
    info = letters.send(collector, a.id, "collection_letter", {"past_due": "$9.00"}, today=TODAY)
    assert info.text == "OUR OWN REMINDER\nDear Ada Lovelace: $9.00.\n"
    assert "thank_you" in letters.template_names()


@pytest.mark.parametrize("text,needle", [
    ("TITLE\n{{ member_name }} owes {{ past_dew }}\n", "uses the field 'past_dew', which this letter does not have"),
    ("TITLE\n{{ member_name }\n", "line 2"),
    ("TITLE\n{{ member_name.nick }}\n", "nick"),
])
def test_a_template_with_an_unknown_field_or_bad_syntax_sends_nothing(database, places, collector, text, needle):
    a = factories.account()
    places.templates.mkdir(parents=True)
    (places.templates / "broken.txt.j2").write_text(text)
    with pytest.raises(letters.LetterError) as e:
        letters.send(collector, a.id, "broken", {"past_due": "$1.00"}, today=TODAY)
    assert needle in e.value.message and "nothing was sent" in e.value.message
    assert db.Letter.select().count() == 0
    assert not places.output.exists() or not list(places.output.iterdir())
    assert db.AuditLog.select().where(db.AuditLog.action == "letter.send").count() == 0


def test_a_missing_template_or_a_bad_name_is_refused(database, places, collector):
    a = factories.account()
    with pytest.raises(letters.LetterError, match="No letter template nothing_here"):
        letters.send(collector, a.id, "nothing_here", {}, today=TODAY)
    with pytest.raises(letters.LetterError, match="lower-case"):
        letters.render("../etc/passwd", {})
    assert db.Letter.select().count() == 0


def test_every_shipped_template_renders_with_its_documented_fields(places):
    for name in letters.template_names():
        r = letters.check(name)
        assert r.title and r.text.endswith("\n")
        assert letters.pdf_bytes(r.text, r.title).startswith(b"%PDF")


def test_the_letters_command_lists_installs_and_checks_the_templates(tmp_path, capsys, monkeypatch):
    from kec_tui import cli, config
    for name in config.TYPES:
        monkeypatch.delenv(config.ENV_PREFIX + name.upper(), raising=False)
    saved = letters.places()
    own = tmp_path / "own"
    conf = tmp_path / "config.toml"
    conf.write_text(f'letters_dir = "{own}"\nreports_dir = "{tmp_path / "reports"}"\n')
    try:
        assert cli.main(["--config", str(conf), "letters", "--install", "--check"]) == 0
        out = capsys.readouterr().out
        assert f"Copied 5 templates to {own}" in out      # the claims' three and the notices' two
        assert "disconnect_notice        the co-op's ok: NOTICE OF DISCONNECTION FOR NON-PAYMENT" in out
        (own / "collection_letter.txt.j2").write_text("REMINDER\n{{ member_name }} {{ balanse }}\n")
        assert cli.main(["--config", str(conf), "letters", "--check", "collection_letter"]) == 1
        out = capsys.readouterr().out
        assert "collection_letter        the co-op's REFUSED: Letter template collection_letter uses the field " \
               "'balanse'" in out
    finally:
        letters.use(saved.templates, saved.output)
