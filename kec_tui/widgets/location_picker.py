"""The service-location field of the move and new-membership forms: a location no., street
words, or NEW (then the new location's fields follow), and what it found, for the panel."""
from __future__ import annotations

from rich.table import Table
from rich.text import Text

from kec_tui.services import memberships as ms
from kec_tui.services.errors import ServiceError
from kec_tui.services.operators import OperatorInfo
from kec_tui.widgets.entry_form import FieldSpec, Record
from kec_tui.widgets.validators import check_contact, required

NEW = "new"


def location_fields(validate) -> list[FieldSpec]:
    return [
        FieldSpec("location", "Service location", "text", 40, mandatory_entry=True, validate=validate),
        FieldSpec("new_street", "Street", "text", 50,
                  validate=required("Street", check_contact("mail_street", "Street"))),
        FieldSpec("new_city", "City", "text", 30, validate=check_contact("mail_city", "City"),
                  default=lambda r: "Coeur d'Alene"),
        FieldSpec("new_zip", "ZIP", "text", 10, validate=check_contact("mail_zip", "ZIP")),
        FieldSpec("new_map", "Map location", "text", 30),
    ]


NEW_LOCATION_FIELDS = ("new_street", "new_city", "new_zip", "new_map")
LOCATION_HINT = "Key a location no. or street words (77 pine), or NEW for a new location"


class LocationPicker:
    """The location field's look-up: a location no., street words, or NEW."""

    def __init__(self) -> None:
        self.chosen: ms.LocationInfo | None = None
        self.new = False
        self.matches: list[ms.LocationInfo] = []

    def pick(self, text: str, *, own_location: int | None = None) -> str | None:
        """Decide from the keyed text; returns an error for the field, or None."""
        text = text.strip()
        self.chosen, self.matches = None, []
        self.new = text.lower() == NEW
        if self.new:
            return None
        found = ms.find_locations(text, limit=30)
        exact = [x for x in found if text.isdigit() and x.location_no == int(text)]
        if not exact:
            exact = [x for x in found if x.address.split(",")[0].strip().lower() == text.lower()]
        if len(exact) == 1:
            found = exact
        if not found:
            return f"No service location matches {text!r}: key NEW to add one"
        if len(found) > 1:
            self.matches = found
            return f"{len(found)}{'+' if len(found) == 30 else ''} locations match: key the location no. (listed below)"
        loc = found[0]
        if own_location is not None and loc.id == own_location:
            self.matches = found
            return "That is the account's own service location"
        if loc.in_service_account:
            self.matches = found
            return (f"{loc.address.split(',')[0]} is already in service on account {loc.in_service_account} "
                    f"({loc.in_service_name}, {loc.in_service_status}): final that account first (move or close)")
        self.chosen = loc
        return None

    def table(self) -> Table:
        t = Table(box=None, show_header=True, header_style="bold", expand=True, pad_edge=False)
        t.add_column("Loc no.", no_wrap=True)
        t.add_column("Address")
        t.add_column("Meter", no_wrap=True)
        t.add_column("In service", no_wrap=True)
        for x in self.matches[:8]:
            t.add_row(str(x.location_no), x.address, x.meter_no or "-",
                      Text(f"{x.in_service_account} {x.in_service_status}", style="red")
                      if x.in_service_account else Text("free", style="green"))
        if len(self.matches) > 8:
            t.add_row("...", f"{len(self.matches) - 8} more: key more of the street", "", "")
        return t

    def describe(self) -> Text:
        if self.new:
            return Text("A new service location (new construction); its meter comes with the connect.")
        loc = self.chosen
        if loc is None:
            return Text("")
        return Text(f"Location {loc.location_no}: {loc.address}  map {loc.map_location or '-'}  "
                    f"meter {loc.meter_no or '(none yet)'}" + (f"\nOwner on file: {loc.owner}" if loc.owner else ""))

    def add_new(self, op: OperatorInfo, record: Record, owner: ms.Landlord | None = None) -> ms.LocationInfo:
        """Add the new location (once); ServiceError with the form's field names."""
        if self.chosen is None:
            try:
                self.chosen = ms.add_location(op, record["new_street"], record["new_city"], record["new_zip"],
                                              map_location=record["new_map"], owner=owner)
            except ServiceError as e:
                e.field = {"mail_street": "new_street", "street": "new_street", "mail_city": "new_city",
                           "mail_zip": "new_zip", "map_location": "new_map", "mail_state": "new_city"}.get(
                               e.field or "", e.field)
                raise
        return self.chosen

