"""Field validators and defaults the guided forms share: (value, record) -> a message, or None."""
from __future__ import annotations

import datetime as dt

from kec_tui.services import contacts, orders
from kec_tui.services.errors import ServiceError
from kec_tui.widgets.entry_form import Record, parse_date


def check_contact(field: str, label: str | None = None):
    """A validator from contacts.clean, the message under this form's label."""
    def validate(value: str, record: Record) -> str | None:
        try:
            contacts.clean(field, value)
        except ServiceError as e:
            return e.message.replace(contacts.LABELS.get(field, field), label) if label else e.message
        return None
    return validate


def required(label: str, then=None):
    def validate(value: str, record: Record) -> str | None:
        if not value.strip():
            return f"{label} is required"
        return then(value, record) if then else None
    return validate


def not_past(label: str):
    def validate(value: str, record: Record) -> str | None:
        if value and parse_date(value) < dt.date.today():
            return f"{label}: {value} is in the past"
        return None
    return validate


def must_be_yes(message: str):
    def validate(value: str, record: Record) -> str | None:
        return None if value == "yes" else message
    return validate


def next_business_day() -> str:
    """The next business day, as a date field's default (the business-day rule is the service's)."""
    return orders.next_business_day(dt.date.today()).strftime("%m/%d/%Y")

