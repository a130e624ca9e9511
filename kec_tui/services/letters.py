"""Letters: collection letters, disconnect notices and agreements from Jinja2 templates the
co-op edits, rendered to PDF (fpdf2) and logged on the account with their text.

Templates are `<name>.txt.j2`: the co-op's own in the letters directory (setting `letters_dir`,
default letters/ in the data dir) come first; the ones shipped in kec_tui/data/letters are used
where the co-op has none (`install_defaults` copies them there to edit). The first line of the
rendered text is the letter's title. A template is strict: a field it names that the letter does
not have (a typo, a field from another letter) is refused with a clear message and nothing is
written or logged (jinja2's StrictUndefined); so is a template that does not parse.

Every letter gets the account's standard fields (`standard_fields`: coop, coop_phone,
coop_address, today, account_number, member_name, mail_street, mail_city, mail_state,
mail_zip, service_address, balance) and the caller's own (past_due, disconnect_from ...).

    letters.render("collection_letter", fields) -> Rendered(title, text)
    letters.send(op, account_id, "collection_letter", {"past_due": "$80.00"}) -> LetterInfo (with pdf_path)
"""
from __future__ import annotations

import datetime as dt
import functools
import re
import shutil
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import jinja2
from peewee import fn

from kec_tui import config, db, money
from kec_tui.services import audit, card_numbers
from kec_tui.services.errors import NotFound, ServiceError, ValidationError
from kec_tui.services.operators import OperatorInfo, require

SUFFIX = ".txt.j2"
NAME_RE = re.compile(r"^[a-z0-9_][a-z0-9_-]{0,59}$")
COOP_NAME = "Kootenai Electric Cooperative"
COOP_ADDRESS = "2451 W Dakota Ave, Hayden, ID 83835"
COOP_PHONE = "(208) 765-1200"


class LetterError(ValidationError):
    """A template that cannot make this letter (unknown field, syntax, missing): nothing was sent."""


@dataclass(frozen=True)
class Rendered:
    template: str
    title: str
    text: str


@dataclass(frozen=True)
class LetterInfo:
    id: int
    account_id: int
    template: str
    title: str
    text: str
    pdf_path: str
    reference: str
    created_at: dt.datetime
    operator: str = ""


@dataclass(frozen=True)
class Places:
    templates: Path             # the co-op's templates
    output: Path                # where letters' PDFs are written


def _default_places(settings: config.Settings) -> Places:
    data = config.default_data_dir()
    reports = Path(settings.reports_dir or data / "reports").expanduser()
    return Places(Path(settings.letters_dir or data / "letters").expanduser(), reports / "letters")


_places = _default_places(config.Settings())


def places_for(settings: config.Settings) -> Places:
    """Where these settings keep templates and write letters (a screen passes its app's settings)."""
    return _default_places(settings)


def configure(settings: config.Settings) -> Places:
    """Where templates are read and letters written (the application calls this at start)."""
    global _places
    _places = _default_places(settings)
    return _places


def use(templates: str | Path, output: str | Path) -> Places:
    """Tests and tools: read templates from / write letters to these directories."""
    global _places
    _places = Places(Path(templates), Path(output))
    return _places


def places() -> Places:
    return _places


def shipped_dir() -> Path:
    return Path(str(resources.files("kec_tui") / "data" / "letters"))


def install_defaults(directory: str | Path | None = None) -> list[Path]:
    """Copy the shipped templates the co-op has no copy of into its letters directory (to edit)."""
    d = Path(directory) if directory else _places.templates
    d.mkdir(parents=True, exist_ok=True)
    out = []
    for src in sorted(shipped_dir().glob("*" + SUFFIX)):
        dst = d / src.name
        if not dst.exists():
            shutil.copyfile(src, dst)
            out.append(dst)
    return out


def template_names() -> list[str]:
    names = set()
    for d in (_places.templates, shipped_dir()):
        if d.is_dir():
            names |= {p.name[:-len(SUFFIX)] for p in d.glob("*" + SUFFIX)}
    return sorted(names)


@functools.lru_cache(maxsize=8)
def _environment_of(dirs: tuple[str, ...], own: tuple) -> jinja2.Environment:
    # Kept while the co-op's templates (`own`: names and times) stay as they are: each template is
    # compiled once, not once a letter.
    return jinja2.Environment(loader=jinja2.FileSystemLoader(list(dirs)), undefined=jinja2.StrictUndefined,
                              autoescape=False, keep_trailing_newline=True, trim_blocks=False, auto_reload=True)


def _environment() -> jinja2.Environment:
    dirs = tuple(str(d) for d in (_places.templates, shipped_dir()) if d.is_dir())
    own = ()
    if _places.templates.is_dir():
        own = tuple(sorted((p.name, p.stat().st_mtime_ns, p.stat().st_size)
                           for p in _places.templates.glob("*" + SUFFIX)))
    return _environment_of(dirs, own)


def _template(name: str) -> jinja2.Template:
    if not NAME_RE.match(name or ""):
        raise LetterError(f"A letter template name is lower-case letters, digits, - and _ (not {name!r})",
                          "template")
    try:
        return _environment().get_template(name + SUFFIX)
    except jinja2.TemplateNotFound:
        raise LetterError(f"No letter template {name} ({name}{SUFFIX} in {_places.templates} or shipped)",
                          "template") from None
    except jinja2.TemplateSyntaxError as e:
        raise LetterError(f"Letter template {name}, line {e.lineno}: {e.message}; nothing was sent",
                          "template") from None


def _unknown_field(e: jinja2.UndefinedError) -> str:
    m = re.search(r"'([^']+)' is undefined", str(e))
    if m:
        return m.group(1)
    m = re.search(r"has no attribute '([^']+)'", str(e))
    return m.group(1) if m else str(e)


def render(template: str, fields: dict) -> Rendered:
    """The letter's text from the template and these fields; LetterError for a field the
    template names that is not among them (nothing is sent)."""
    t = _template(template)
    try:
        text = t.render(**fields)
    except jinja2.UndefinedError as e:
        known = ", ".join(sorted(fields))
        raise LetterError(f"Letter template {template} uses the field '{_unknown_field(e)}', which this letter "
                          f"does not have (fields: {known}); nothing was sent", "template") from None
    except jinja2.TemplateError as e:
        raise LetterError(f"Letter template {template}: {e}; nothing was sent", "template") from None
    text = text.strip("\n") + "\n"
    title = text.split("\n", 1)[0].strip()[:120]
    return Rendered(template, title, text)


def sample_extra_fields() -> dict:
    """Sample values of the fields the letters' callers add to the standard ones: the notices' own
    (notices.py) and a claim's (damage_claims.py)."""
    from kec_tui.services import damage_claims

    return {"past_due": "$80.00", "disconnect_from": "01/22/2026", "expires": "02/05/2026",
            **damage_claims.sample_fields()}


def check(template: str, extra: dict | None = None) -> Rendered:
    """Render the template with sample standard fields and `extra` (default: every caller's sample
    fields, sample_extra_fields): the co-op's check of an edit."""
    extra = sample_extra_fields() if extra is None else extra
    sample = {"coop": COOP_NAME, "coop_phone": COOP_PHONE, "coop_address": COOP_ADDRESS, "today": "01/15/2026",
              "account_number": "1000007", "member_name": "Ada Lovelace", "mail_street": "1234 N Government Way",
              "mail_city": "Coeur d'Alene", "mail_state": "ID", "mail_zip": "83814",
              "service_address": "1234 N Government Way, Coeur d'Alene", "balance": "$180.00"}
    return render(template, {**sample, **(extra or {})})


def _fit(pdf, line: str) -> list[str]:
    """The line as the lines that fit the page's width (words kept whole; only long lines are measured)."""
    if len(line) <= 80 or pdf.get_string_width(line) <= pdf.epw:
        return [line]
    out, cur = [], ""
    for word in line.split(" "):
        trial = f"{cur} {word}" if cur else word
        if cur and pdf.get_string_width(trial) > pdf.epw:
            out.append(cur)
            cur = word
        else:
            cur = trial
    return out + [cur]


def pdf_bytes(text: str, title: str = "") -> bytes:
    """The letter as a PDF: US letter, Helvetica 11 pt (the title 13 pt bold), one-inch margins,
    paged as needed. Lines are placed with fpdf2's text() (its cells and line breaking cost ~20x more)."""
    from fpdf import FPDF  # imported here: only letters need it, not the start-up

    pdf = FPDF(unit="pt", format="letter")
    pdf.core_fonts_encoding = "windows-1252"
    pdf.set_margins(72, 72, 72)
    pdf.set_auto_page_break(False)
    if title:
        pdf.set_title(title)
    pdf.add_page()
    leading, bottom = 14, pdf.h - 72
    y = 72.0
    lines = text.rstrip("\n").split("\n")
    for i, ln in enumerate(lines):
        if i < 2:
            pdf.set_font("Helvetica", style="B" if i == 0 else "", size=13 if i == 0 else 11)
        shown = ln.encode("cp1252", "replace").decode("cp1252").rstrip()
        for part in _fit(pdf, shown) if shown.strip() else [""]:
            if y + leading > bottom:
                pdf.add_page()
                y = 72.0
            if part:
                pdf.text(72, y + 11, part)
            y += leading
    return bytes(pdf.output())


def write_pdf(path: Path, rendered: Rendered) -> Path:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(pdf_bytes(rendered.text, rendered.title))
    except OSError as exc:
        raise ServiceError(f"Cannot write the letter to {path.parent}: {exc.strerror or exc}") from exc
    return path


def standard_fields(account_ids: list[int], today: dt.date, balances: dict[int, int] | None = None
                    ) -> dict[int, dict]:
    """The standard fields of each account's letters (one query per 900 accounts); `balances`
    (cents) saves summing the ledger when the caller has them."""
    A, M, S, L = db.Account, db.Member, db.ServiceLocation, db.LedgerEntry
    out: dict[int, dict] = {}
    ids = list(account_ids)
    for i in range(0, len(ids), 900):
        part = ids[i:i + 900]
        q = (A.select(A.id, A.number, M.first_name, M.last_name, M.mail_street, M.mail_city, M.mail_state,
                      M.mail_zip, S.street, S.city)
             .join(M, on=(A.member == M.id)).switch(A).join(S, on=(A.location == S.id))
             .where(A.id.in_(part)).tuples())
        bal = dict(balances or {})
        missing = [a for a in part if a not in bal]
        if missing:
            bal.update({a: int(c or 0) for a, c in L.select(L.account, fn.SUM(L.amount_cents))
                        .where(L.account.in_(missing), L.effective <= today).group_by(L.account).tuples()})
        for aid, number, first, last, street, city, state, zip_, s_street, s_city in q:
            out[aid] = {"coop": COOP_NAME, "coop_phone": COOP_PHONE, "coop_address": COOP_ADDRESS,
                        "today": f"{today:%B} {today.day}, {today.year}", "account_number": str(number),
                        "member_name": f"{first} {last}".strip(), "mail_street": street or s_street,
                        "mail_city": city or s_city, "mail_state": state or "ID", "mail_zip": zip_ or "",
                        "service_address": f"{s_street}, {s_city}", "balance": money.fmt_dollars(bal.get(aid, 0))}
    return out


def _info(row: db.Letter) -> LetterInfo:
    who = db.Operator.get_or_none(db.Operator.id == row.operator_id) if row.operator_id else None
    return LetterInfo(row.id, row.account_id, row.template, row.title, row.text, row.pdf_path, row.reference,
                      row.created_at, who.username if who else "")


def file_name(letter_id: int, account_number: int | str, template: str) -> str:
    return f"letter-{letter_id}-{account_number}-{template}.pdf"


@db.connected
def send(op: OperatorInfo | None, account_id: int, template: str, fields: dict | None = None, *,
         reference: str = "", today: dt.date | None = None, directory: str | Path | None = None) -> LetterInfo:
    """Render the letter for the account (its standard fields and `fields`), write its PDF and
    log it on the account with its text, all or nothing: a template with an unknown field is a
    LetterError and nothing is written or logged."""
    if op is not None:
        require(op, "note.add")
    today = today or dt.date.today()
    card_numbers.refuse_all({name: v for name, v in (fields or {}).items() if isinstance(v, str)})
    std = standard_fields([account_id], today).get(account_id)
    if std is None:
        raise NotFound("That account no longer exists")
    rendered = render(template, {**std, **(fields or {})})
    out = Path(directory) if directory else _places.output
    with db.write_txn():
        row = db.Letter.create(account=account_id, template=template, title=rendered.title, text=rendered.text,
                               reference=reference[:40], operator=op.id if op else None, created_at=db.now())
        path = write_pdf(out / file_name(row.id, std["account_number"], template), rendered)
        db.Letter.update(pdf_path=str(path)).where(db.Letter.id == row.id).execute()
        audit.record(op, "letter.send", "letter", row.id, account_id=account_id, field=template,
                     after=f"{rendered.title} {path.name}"[:200])
    return _info(db.Letter.get_by_id(row.id))


@db.connected
def for_account(account_id: int, limit: int = 50) -> list[LetterInfo]:
    L = db.Letter
    return [_info(r) for r in L.select().where(L.account == account_id).order_by(L.id.desc()).limit(limit)]


@db.connected
def get_letter(letter_id: int) -> LetterInfo:
    row = db.Letter.get_or_none(db.Letter.id == letter_id)
    if row is None:
        raise NotFound(f"No letter {letter_id}")
    return _info(row)
