"""Contact updates: validated field by field, every change audited, search index kept current."""
from __future__ import annotations

import re

from kec_tui import db
from kec_tui.services import audit, card_numbers, search_index
from kec_tui.services.errors import NotFound, ServiceError, ValidationError
from kec_tui.services.operators import OperatorInfo, require

CONTACT_FIELDS = ("phone_home", "phone_mobile", "phone_work", "email", "mail_street", "mail_city",
                  "mail_state", "mail_zip", "preferred_contact")
PREFERRED = ("phone", "mobile", "text", "email", "mail")
LABELS = {"phone_home": "Home phone", "phone_mobile": "Mobile phone", "phone_work": "Work phone",
          "email": "E-mail", "mail_street": "Mailing street", "mail_city": "City", "mail_state": "State",
          "mail_zip": "ZIP", "preferred_contact": "Preferred contact"}
STATES = frozenset("AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ "
                   "NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY PR GU VI AS MP".split())
_EMAIL = re.compile(r"^[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$")


class StaleEdit(ServiceError):
    """Someone else changed the field since this screen read it."""


def normalize_phone(text: str) -> str:
    digits = re.sub(r"[\s().+-]", "", text.strip())
    if digits.startswith("1") and len(digits) == 11:
        digits = digits[1:]
    return digits


def clean(field: str, value: str) -> str:
    """Canonical stored form of a keyed value, or ValidationError with a message for the field."""
    value = value.strip()
    label = LABELS.get(field, field)
    card_numbers.refuse(value, field, label)
    if field.startswith("phone"):
        if not value:
            return ""
        digits = normalize_phone(value)
        if not digits.isdigit():
            raise ValidationError(f"{label}: digits only, like 208-555-0123", field)
        if len(digits) != 10:
            raise ValidationError(f"{label}: needs 10 digits with the area code (got {len(digits)})", field)
        if digits[0] in "01" or digits[3] in "01":
            raise ValidationError(f"{label}: {digits[:3]}-{digits[3:6]} is not a valid US number", field)
        return digits
    if field == "email":
        if not value:
            return ""
        if len(value) > 120 or not _EMAIL.match(value):
            raise ValidationError(f"{label}: not an e-mail address (name@example.com)", field)
        return value.lower()
    if field == "mail_street":
        if not value:
            raise ValidationError(f"{label} is required", field)
        if len(value) > 80:
            raise ValidationError(f"{label}: at most 80 characters", field)
        return value
    if field == "mail_city":
        if not value or len(value) > 40 or not re.match(r"^[A-Za-z][A-Za-z .'-]*$", value):
            raise ValidationError(f"{label}: letters, up to 40", field)
        return value
    if field == "mail_state":
        if value.upper() not in STATES:
            raise ValidationError(f"{label}: a two-letter state code like ID", field)
        return value.upper()
    if field == "mail_zip":
        digits = value.replace("-", "")
        if not digits.isdigit() or len(digits) not in (5, 9):
            raise ValidationError(f"{label}: 5 digits or ZIP+4 (83814-1234)", field)
        return digits if len(digits) == 5 else f"{digits[:5]}-{digits[5:]}"
    if field == "preferred_contact":
        if value.lower() not in PREFERRED:
            raise ValidationError(f"{label}: one of {', '.join(PREFERRED)}", field)
        return value.lower()
    raise ValidationError(f"Unknown contact field {field}", field)


def validate(values: dict[str, str]) -> dict[str, str]:
    """Every problem at once, field -> message (empty when all is well)."""
    errors: dict[str, str] = {}
    cleaned: dict[str, str] = {}
    for f, v in values.items():
        try:
            cleaned[f] = clean(f, v)
        except ValidationError as e:
            errors[f] = e.message
    pref = cleaned.get("preferred_contact")
    if pref == "email" and "email" in cleaned and not cleaned["email"]:
        errors.setdefault("preferred_contact", "Preferred contact is e-mail but there is no e-mail address")
    if pref in ("mobile", "text") and "phone_mobile" in cleaned and not cleaned["phone_mobile"]:
        errors.setdefault("preferred_contact", "Preferred contact needs a mobile phone")
    return errors


def update_contacts(op: OperatorInfo, member_id: int, values: dict[str, str],
                    original: dict[str, str] | None = None, account_id: int | None = None) -> list[str]:
    """Write the fields that changed; returns their names. `original` is what the
    screen showed: a field someone else changed meanwhile is refused, not overwritten."""
    require(op, "contact.update")
    errors = validate(values)
    if errors:
        field, message = next(iter(errors.items()))
        raise ValidationError(message, field)
    cleaned = {f: clean(f, v) for f, v in values.items()}
    changed: list[str] = []
    with db.write_txn():
        member = db.Member.select().where(db.Member.id == member_id)
        if db.is_postgres():
            member = member.for_update()
        member = member.first()
        if member is None:
            raise NotFound("That member no longer exists")
        for f, new in cleaned.items():
            old = getattr(member, f)
            if new == old:
                continue
            if original is not None and f in original and original[f] != old:
                raise StaleEdit(f"{LABELS[f]} was changed by someone else to {old!r}; reopen the account", f)
            setattr(member, f, new)
            changed.append(f)
            audit.record(op, "contact.update", "member", member_id, account_id=account_id,
                         field=f, before=old, after=new)
        if changed:
            member.save(only=[getattr(db.Member, f) for f in changed])
            if any(f.startswith("phone") or f == "email" for f in changed):
                search_index.reindex_member(member_id)
    return changed


def add_authorized(op: OperatorInfo, member_id: int, name: str, relation: str = "", phone: str = "",
                   account_id: int | None = None) -> int:
    require(op, "contact.update")
    name = name.strip()
    if not name or len(name) > 80:
        raise ValidationError("Authorized person: a name up to 80 characters", "name")
    card_numbers.refuse(name, "name", "Authorized person")
    card_numbers.refuse(relation, "relation", "Relation")
    phone = clean("phone_home", phone) if phone.strip() else ""
    with db.write_txn():
        p = db.AuthorizedPerson.create(member=member_id, name=name, relation=relation.strip()[:30], phone=phone)
        audit.record(op, "authorized.add", "member", member_id, account_id=account_id, field="authorized",
                     after=f"{name} ({relation.strip()}) {phone}".strip())
    return p.id


def remove_authorized(op: OperatorInfo, person_id: int, account_id: int | None = None) -> None:
    require(op, "contact.update")
    with db.write_txn():
        p = db.AuthorizedPerson.get_or_none(db.AuthorizedPerson.id == person_id)
        if p is None:
            raise NotFound("That authorized person was already removed")
        audit.record(op, "authorized.remove", "member", p.member_id, account_id=account_id, field="authorized",
                     before=f"{p.name} ({p.relation}) {p.phone}".strip())
        p.delete_instance()
