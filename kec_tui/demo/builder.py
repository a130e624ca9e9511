"""The demo database: a realistic, deterministic North Idaho co-op to practise and measure on.

`build_demo()` fills an empty, migrated database (the `db.database` proxy) with
operators, members, service locations, meters, accounts, meter readings, an
append-only ledger (bills, payments, late and returned-payment fees, reversals,
deposits, transfers, write-offs), returned payments, service orders, notes and
the search index. Everything comes from one `random.Random(seed)` and dates
derived from `today`, so a seed and a date give the same co-op on SQLite and
PostgreSQL.

The ledger follows the services' own conventions (final bills, deposits and
membership fees as memberships.py / moves.py post them, returns as returns.py
records them) and keeps these invariants, which the tests check:
- money is integer cents, computed with integer arithmetic only;
- every payment pays the whole balance of its moment, so the ledger sums to
  zero at every payment (a returned payment is a later 'reversal' + fee);
- 'closed' accounts owe nothing, 'final' ones owe their unpaid final balance.

Speed: rows are made per chunk of accounts with ids assigned here and written
with executemany (SQLite) / execute_values (PostgreSQL) in one transaction. On
SQLite the build runs with synchronous=OFF and a rollback journal, collects the
search terms in a TEMP table and inserts them sorted at the end (in primary-key
order), and builds the secondary indexes once at the end; the connection's
settings are restored afterwards.
"""
from __future__ import annotations

import datetime as dt
import getpass
import hashlib
import random
import time
from array import array
from bisect import bisect_left
from dataclasses import dataclass, fields as dc_fields
from itertools import accumulate
from typing import Callable

from kec_tui import db
from kec_tui.checkdigit import make_account_number
from kec_tui.services import fees, operators as operators_svc, search_index
from kec_tui.services.memberships import TAX_ID_SALT_KEY, hash_tax_id
from kec_tui.services.returns import RETURN_CODES

ACCOUNT_BASE_START = 10000        # account number = make_account_number(10000 + i)
MEMBER_NO_START = 100001
LOCATION_NO_START = 100001
ORDER_NO_START = 500001
CYCLE_DAYS = {1: 3, 2: 10, 3: 17, 4: 24}  # bill cycle -> day of the month its bills are dated
READ_LEAD_DAYS = 2                        # meters are read this many days before the bill
FULL_PERIOD_DAYS = 27                     # a regular period (28-31 days) pays the whole base charge

_RETURN_PICK = ["R01"] * 7 + ["R09", "R02", "R08", "R10"]


def regular_bill_cents(rate_class: str, kwh: int) -> int:
    """A regular month: the whole base charge + energy at the class rate, half-up to the cent."""
    base, mills = fees.RATES[rate_class]
    return base + (kwh * mills + 5) // 10


def _aba(prefix8: str) -> str:
    """A routing number with a valid ABA check digit (3-7-1 weights)."""
    d = [int(c) for c in prefix8]
    total = 3 * (d[0] + d[3] + d[6]) + 7 * (d[1] + d[4] + d[7]) + (d[2] + d[5])
    return prefix8 + str((10 - total % 10) % 10)


# Made-up routing numbers in the Federal Reserve's 12th district (Idaho), valid check digits.
_ROUTING = [_aba(p) for p in ("12310478", "12410215", "12310533", "12413402", "32527431", "12510186",
                              "12310587", "32407014")]
# Names and places
# ---------------------------------------------------------------------------
# Surnames weighted roughly by US census frequency, tilted to the Inland
# Northwest (more Scandinavian and German, fewer Spanish names).
_LAST = """
Smith:240 Johnson:200 Miller:150 Anderson:125 Williams:120 Brown:120 Jones:115 Davis:110 Wilson:100
Peterson:90 Olson:85 Nelson:85 Johnston:40 Larson:70 Thompson:80 Taylor:75 Moore:70 Martin:70
Clark:60 White:60 Hansen:60 Jensen:50 Christensen:35 Carlson:45 Swanson:40 Erickson:40 Lund:20
Thomas:60 Jackson:45 Harris:55 Lewis:50 Walker:50 Young:50 Allen:50 King:48 Wright:48 Scott:45
Hill:45 Green:45 Adams:45 Baker:45 Hall:42 Campbell:40 Mitchell:40 Carter:38 Roberts:38 Turner:35
Phillips:35 Parker:35 Evans:35 Edwards:32 Collins:32 Stewart:32 Morris:30 Murphy:30 Cook:30
Rogers:30 Morgan:28 Cooper:28 Peterson:1 Bailey:28 Reed:28 Kelly:26 Howard:26 Cox:25 Ward:25
Richardson:25 Watson:24 Brooks:24 Wood:24 James:24 Bennett:23 Gray:23 Hughes:22 Price:22
Sanders:22 Myers:22 Long:22 Ross:21 Foster:21 Powell:20 Jenkins:20 Perry:20 Russell:20
Sullivan:20 Bell:20 Coleman:18 Butler:18 Henderson:18 Barnes:18 Fisher:18 Vasquez:6 Simmons:16
Graham:16 Marshall:16 Owens:16 Harrison:16 Gibson:15 McDonald:18 Cruz:5 Kennedy:15 Wells:15
Alexander:15 Hamilton:15 Ford:15 West:15 Cole:15 Hayes:15 Jordan:14 Reynolds:16 Ellis:14
Stevens:14 Murray:14 Ruiz:5 Mason:14 Hunt:14 Rice:13 Black:13 Daniels:13 Palmer:13 Mills:13
Grant:13 Knight:13 Ferguson:13 Rose:13 Stone:13 Hawkins:12 Dunn:12 Perkins:12 Hudson:12
Spencer:12 Gardner:12 Stephens:12 Payne:12 Pierce:12 Berry:12 Matthews:12 Arnold:12 Wagner:20
Willis:11 Ray:11 Watkins:11 Olsen:20 Carroll:11 Duncan:11 Snyder:18 Hart:11 Cunningham:11
Bradley:11 Lane:11 Andrews:11 Harper:11 Fox:11 Riley:11 Armstrong:11 Carpenter:11 Weaver:11
Greene:10 Lawrence:10 Elliott:10 Chavez:5 Sims:9 Austin:10 Peters:12 Kelley:10 Franklin:10
Lawson:10 Fields:9 Ryan:10 Schmidt:22 Schneider:14 Meyer:16 Mueller:10 Schultz:14 Becker:12
Hoffman:14 Koch:8 Richter:5 Klein:8 Wolf:9 Zimmerman:9 Krueger:8 Schroeder:10 Neumann:5
Hanson:18 Halverson:6 Gustafson:8 Lindquist:5 Bergstrom:5 Nilsen:4 Strand:5 Dahl:6 Berg:8
Holm:4 Lindgren:5 Sorensen:9 Iverson:6 Knutson:6 Thorson:4 Ness:4 Rasmussen:8 Madsen:6
Garcia:20 Rodriguez:14 Martinez:16 Hernandez:12 Lopez:12 Gonzalez:12 Perez:9 Sanchez:9
Ramirez:8 Torres:7 Flores:7 Rivera:6 Gomez:6 Diaz:6 Reyes:5 Morales:5 Ortiz:5 Gutierrez:4
Nguyen:5 Lee:30 Kim:6 Chen:4 Wang:3 Tran:3 Patel:3 Yamamoto:2 Tanaka:2
O'Brien:8 O'Connor:7 O'Neil:6 McCarthy:8 McKenzie:6 McLaughlin:5 McBride:5 Fitzgerald:6 Burke:8
Dixon:10 Hunter:10 Hicks:10 Holmes:9 Porter:10 Warren:10 Crawford:10 Boyd:10 Mason:1 Chapman:9
Bishop:9 Shaw:9 Webb:9 Tucker:9 Burns:10 Freeman:9 Wells:1 Walsh:8 Nichols:9 Dean:8 Fuller:8
Harvey:8 Little:8 Burton:8 Stanley:8 Nielsen:9 Holt:7 Barker:7 Bowman:8 Lambert:7 Newman:7
Steele:7 Bates:7 Sutton:6 Fleming:7 Schwartz:7 Hale:6 Hopkins:7 Norris:6 Lyons:6 Bauer:8
Hayden:4 Sherman:6 Ballard:5 Kramer:7 Frank:6 Beck:7 Hess:6 Stark:5 Moser:5 Yoder:5 Sauer:4
Fleck:3 Gilbert:7 Sparks:6 Todd:6 Vaughn:6 Welch:6 Wheeler:7 Bryant:8 Griffin:8 Wallace:9
Woods:9 Cole:1 Dalton:5 Hammond:5 Ingram:4 Kirby:4 Lowe:6 Nash:5 Osborne:5 Pratt:5 Quinn:5
Rowe:5 Swenson:6 Tate:4 Upton:3 Vance:4 Weston:3 York:3 Zeller:3 Albrecht:3 Brandt:4 Eberly:3
Gebhardt:2 Hagen:5 Jorgensen:5 Kessler:4 Lange:4 Mattson:4 Nygaard:3 Pedersen:6 Quist:2
Roth:5 Sundquist:3 Tollefson:3 Ulrich:3 Voss:3 Wahl:3 Ziegler:4 Culver:3 Deatherage:1
"""
_FIRST_M = """
James:120 John:120 Robert:115 Michael:120 William:100 David:100 Richard:70 Joseph:60 Thomas:60
Charles:55 Christopher:60 Daniel:60 Matthew:55 Anthony:35 Mark:50 Donald:40 Steven:45 Paul:40
Andrew:40 Joshua:45 Kenneth:35 Kevin:35 Brian:40 George:30 Timothy:35 Ronald:30 Edward:25
Jason:35 Jeffrey:35 Ryan:35 Jacob:35 Gary:30 Nicholas:30 Eric:30 Jonathan:25 Stephen:25
Larry:25 Justin:25 Scott:30 Brandon:25 Benjamin:25 Samuel:20 Gregory:20 Alexander:15 Frank:15
Patrick:20 Raymond:15 Jack:20 Dennis:18 Jerry:18 Tyler:20 Aaron:18 Jose:5 Adam:18 Nathan:18
Henry:15 Douglas:18 Zachary:12 Peter:12 Kyle:18 Ethan:15 Walter:10 Noah:12 Jeremy:15
Christian:8 Keith:12 Roger:12 Terry:12 Gerald:10 Harold:8 Sean:12 Austin:12 Carl:10 Arthur:8
Lawrence:8 Dylan:10 Jesse:12 Jordan:8 Bryan:10 Billy:8 Joe:8 Bruce:10 Gabriel:6 Logan:10
Albert:6 Willie:4 Alan:10 Juan:3 Wayne:10 Elijah:6 Randy:12 Roy:8 Vincent:5 Ralph:5 Eugene:5
Russell:8 Bobby:5 Mason:8 Philip:8 Louis:5 Dale:12 Duane:8 Gordon:6 Glenn:8 Curtis:8 Travis:12
Cody:12 Dustin:10 Shane:10 Clint:6 Wade:6 Cole:8 Colton:6 Hunter:6 Wyatt:8 Levi:8 Caleb:10
Luke:10 Owen:6 Carson:5 Tanner:6 Garrett:6 Marvin:5 Leroy:4 Lyle:4 Darrell:5 Vernon:4 Kurt:5
Erik:6 Lars:2 Nels:1 Gunnar:1 Hank:3 Rex:2 Boyd:2 Merle:2 Del:2 Orville:1 Chet:1
"""
_FIRST_F = """
Mary:110 Patricia:70 Jennifer:80 Linda:70 Elizabeth:60 Barbara:60 Susan:60 Jessica:55 Sarah:60
Karen:55 Lisa:50 Nancy:45 Betty:30 Sandra:40 Margaret:35 Ashley:40 Kimberly:45 Emily:40
Donna:35 Michelle:40 Carol:35 Amanda:40 Melissa:40 Deborah:35 Stephanie:35 Dorothy:20
Rebecca:30 Sharon:30 Laura:35 Cynthia:25 Amy:30 Kathleen:25 Angela:30 Shirley:18 Brenda:25
Emma:20 Anna:20 Pamela:22 Nicole:25 Samantha:20 Katherine:20 Christine:22 Debra:25 Rachel:22
Carolyn:15 Janet:20 Maria:10 Olivia:15 Heather:25 Helen:12 Catherine:15 Diane:20 Julie:22
Victoria:12 Joyce:15 Lauren:15 Kelly:18 Christina:18 Ruth:12 Joan:12 Virginia:12 Judith:15
Evelyn:8 Hannah:15 Andrea:15 Megan:18 Cheryl:18 Jacqueline:10 Madison:10 Teresa:12 Abigail:10
Sophia:8 Martha:10 Sara:12 Gloria:6 Janice:12 Kathryn:12 Ann:12 Isabella:6 Judy:12 Charlotte:8
Julia:10 Grace:10 Amber:15 Alice:8 Jean:10 Denise:15 Frances:6 Danielle:12 Marilyn:10 Natalie:10
Beverly:10 Diana:10 Brittany:12 Theresa:10 Kayla:12 Alexis:6 Doris:5 Lori:18 Tiffany:10
Tammy:15 Tina:12 Dawn:12 Wendy:12 Crystal:12 Rhonda:10 Connie:10 Peggy:8 Marlene:6 Darlene:8
Jolene:6 Colleen:8 Shelby:6 Kaylee:6 Brooke:8 Hailey:6 Jenna:8 Kristen:10 Kristin:8 Erin:12
Holly:10 Leah:8 Paige:6 Chelsea:8 Misty:6 Shawna:5 Trina:4 Della:3 Edna:3 Ingrid:3 Greta:2
"""


def _weighted(text: str) -> tuple[list[str], list[int]]:
    merged: dict[str, int] = {}
    for item in text.split():
        name, weight = item.rsplit(":", 1)
        merged[name] = merged.get(name, 0) + int(weight)
    names = list(merged)
    return names, list(accumulate(merged[n] for n in names))


LAST_NAMES, _LAST_CW = _weighted(_LAST)
FIRST_MALE, _FIRST_M_CW = _weighted(_FIRST_M)
FIRST_FEMALE, _FIRST_F_CW = _weighted(_FIRST_F)

_BUSINESS_PLACES = [
    "Rathdrum", "Hayden Lake", "Spirit Lake", "Athol", "Twin Lakes", "Chilco", "Garwood", "Hauser Lake",
    "Coeur d'Alene", "Post Falls", "Prairie", "Lakeland", "Kootenai", "Panhandle", "Selkirk", "North Idaho",
    "Timberlake", "Hidden Valley", "Cougar Gulch", "Mica Flats", "Bayview", "Harrison", "Worley", "Lake City",
    "Blue Creek", "Wolf Lodge", "Fernan", "Cataldo", "Rockford Bay", "Setters", "Silverwood", "Chase Lake",
]
_BUSINESS_KINDS = [
    "Feed & Seed", "Marina LLC", "Self Storage", "Dental", "Auto Repair", "Hardware", "Grange", "Tavern",
    "Cafe", "Coffee Co", "Veterinary Clinic", "Community Church", "Fire District", "Water District",
    "Golf Course", "RV Park", "Lumber Co", "Excavation Inc", "Septic Service", "Landscaping",
    "Property Management LLC", "Farms", "Ranch", "Orchards", "Brewing Co", "Storage LLC", "Chiropractic",
    "Machine Shop", "Towing", "Realty", "Bait & Tackle", "Hay & Grain", "Tire Center", "Fitness",
    "Quick Stop", "Mini Mart", "Electric Inc", "Plumbing & Heating", "Builders LLC", "Kennels",
]
_KNOWN_BUSINESSES = [
    "Rathdrum Feed & Seed", "Hayden Lake Marina LLC", "Spirit Lake Hardware", "Athol Grange",
    "Post Falls Tire Center", "Harrison Bait & Tackle", "Worley Hay & Grain", "Twin Lakes RV Park",
]
_LANDLORDS = [
    "Lake City Rentals LLC", "Pacific Property Management", "North Idaho Property Mgmt",
    "Panhandle Rentals", "Prairie View Apartments LLC", "Kootenai Homes LLC", "Selkirk Property Group",
]

# (city, zips, weight, township, range): KEC's service territory, Kootenai County (Boise meridian).
_CITIES = [
    ("Coeur d'Alene", ("83814", "83815"), 20, 50, 4),
    ("Post Falls", ("83854",), 14, 50, 5),
    ("Hayden", ("83835",), 14, 51, 4),
    ("Rathdrum", ("83858",), 13, 52, 5),
    ("Spirit Lake", ("83869",), 7, 54, 5),
    ("Athol", ("83801",), 6, 53, 3),
    ("Hayden Lake", ("83835",), 5, 51, 3),
    ("Harrison", ("83833",), 4, 48, 3),
    ("Worley", ("83876",), 3, 46, 5),
    ("Hauser", ("83854",), 4, 51, 6),
    ("Bayview", ("83803",), 3, 54, 2),
    ("Dalton Gardens", ("83815",), 3, 51, 4),
    ("Careywood", ("83809",), 1, 55, 2),
    ("Cataldo", ("83810",), 1, 49, 1),
]
_CITY_CW = list(accumulate(c[2] for c in _CITIES))

_STREETS = {
    "Coeur d'Alene": ["N Government Way", "W Prairie Ave", "N Ramsey Rd", "N Atlas Rd", "W Kathleen Ave",
                      "E Coeur d'Alene Lake Dr", "N 15th St", "W Appleway Ave", "N Fourth St",
                      "E Fernan Hill Rd", "E Best Ave", "W Neider Ave", "N Howard St", "E Sherman Ave",
                      "N Player Dr", "W Wilbur Ave", "E Nettleton Gulch Rd", "W Canfield Ave"],
    "Post Falls": ["E Seltice Way", "W Seltice Way", "N Huetter Rd", "S Idaho Rd", "N Greensferry Rd",
                   "E Poleline Ave", "W Prairie Ave", "N Spokane St", "N McGuire Rd", "E Mullan Ave",
                   "N Cecil Rd", "W Riverview Dr", "W Parkway Dr", "N Beck Rd", "W Bruss Rd"],
    "Hayden": ["E Hayden Ave", "W Hayden Ave", "N Government Way", "W Lancaster Rd", "N Ramsey Rd",
               "E Honeysuckle Ave", "N Strahorn Rd", "W Miles Ave", "E Orchard Ave", "N Huetter Rd",
               "W Wyoming Ave", "E Dakota Ave", "N Maple St"],
    "Rathdrum": ["W Lancaster Rd", "E Lancaster Rd", "W Boekel Rd", "N Meyer Rd", "W Brunner Rd",
                 "N Pine St", "W Hwy 53", "W Main St", "N Chase Rd", "E Garwood Rd", "W Wyoming Ave",
                 "N Old Hwy 95", "W Kimo Ct", "N Treaty Rock Blvd", "W Prairie Ave"],
    "Spirit Lake": ["W Maine St", "N Spirit Lake Dr", "W Bunco Rd", "E Hwy 54", "N Hwy 41",
                    "W Brickel Creek Rd", "N Clagstone Rd", "E Sandy Beach Rd", "W Blanchard Cutoff Rd"],
    "Athol": ["E Hwy 54", "N Old Hwy 95", "E Bunco Rd", "N Ohio Match Rd", "E Seasons Rd",
              "N Lakeview Rd", "E Garwood Rd", "N Howard Rd", "E Kelso Lake Rd"],
    "Hayden Lake": ["E Hayden Lake Rd", "N Strahorn Rd", "E Lancaster Rd", "N Rimrock Rd",
                    "E Cougar Gulch Rd", "N Hayden Lake Rd", "E Avondale Dr", "N Sunnyside Rd"],
    "Harrison": ["S Hwy 97", "E Frontage Rd", "S Harrison St", "S Thompson Lake Rd", "E Gravelle Rd",
                 "S Medimont Rd", "S Lamb Creek Rd", "E Rainy Hill Rd"],
    "Worley": ["S Hwy 95", "W Worley Rd", "S Setters Rd", "W Conkling Rd", "S Rockford Bay Rd",
               "W Chatcolet Rd", "S Mica Flats Rd"],
    "Hauser": ["N Hauser Lake Rd", "W Hwy 53", "N McGuire Rd", "W Princeton Ave", "N Idaho Rd",
               "W Hauser Lake Rd", "N Pleasant View Rd", "W Poleline Ave"],
    "Bayview": ["E Perimeter Rd", "E Hwy 54", "N Cape Horn Rd", "E Scenic Bay Rd", "N Lakeview Blvd",
                "E Main St", "N Bay Dr"],
    "Dalton Gardens": ["E Dalton Ave", "N 4th St", "E Hanley Ave", "N Government Way", "E Wilbur Ave",
                       "N Mountain View Rd", "E Prairie Ave"],
    "Careywood": ["W Careywood Rd", "N Hwy 95", "W Cocolalla Loop", "E Garfield Bay Cutoff Rd"],
    "Cataldo": ["E Canyon Rd", "S Latour Creek Rd", "E Old River Rd", "S Cataldo Rd", "E Frontage Rd"],
}
_RURAL = ["W Clayton Ln", "N Idaho Rd", "E Fish Lake Rd", "N Wild Rose Ln", "W Deer Park Rd",
          "E Elk Meadow Ln", "N Tamarack Dr", "W Larch Ln", "N Ponderosa Dr", "E Huckleberry Ln",
          "W Cedar Mountain Rd", "N Bitterroot Ln", "E Canfield Rd", "W Moose Ridge Rd", "N Tall Pine Ln",
          "E Osprey Ln", "W Eagle Crest Dr", "N Timber Ridge Rd", "E Blue Creek Rd", "W Hidden Valley Rd",
          "N Grouse Creek Rd", "E Wolf Lodge Creek Rd", "W Twin Lakes Rd", "N Rockford Bay Rd",
          "E Kidd Island Rd", "W Cougar Gulch Rd", "N Sunrise Ridge Rd", "E Mica Peak Rd", "N Granite Ln",
          "W Wheatland Dr", "N Rocky Top Ln", "E Hoot Owl Ln", "W Shadow Ln", "N Beaver Creek Rd",
          "E Chilco Rd", "W Rimrock Rd", "N Bull Run Rd", "E Hollister Hills Dr", "W Meadow Lark Ln",
          "N Trout Creek Rd"]
_MAIL_AWAY = [  # out-of-area mailing addresses (snowbirds, absentee owners)
    ("Spokane", "WA", "99203"), ("Spokane Valley", "WA", "99216"), ("Liberty Lake", "WA", "99019"),
    ("Seattle", "WA", "98115"), ("Boise", "ID", "83702"), ("Mesa", "AZ", "85205"),
    ("Scottsdale", "AZ", "85251"), ("Palm Desert", "CA", "92260"), ("Missoula", "MT", "59801"),
    ("Sandpoint", "ID", "83864"), ("Moscow", "ID", "83843"), ("Portland", "OR", "97214"),
]
# Local exchanges (landline) and mobile prefixes of area code 208 in the area.
_LANDLINE = ["664", "665", "666", "667", "676", "699", "765", "769", "772", "773", "777", "762", "687",
             "623", "683", "689", "686", "457", "209"]
_MOBILE = ["640", "651", "659", "691", "704", "755", "818", "819", "758", "771", "292", "660"]
_EMAIL_DOMAINS = ["gmail.com"] * 9 + ["yahoo.com"] * 4 + ["frontier.com"] * 2 + \
                 ["hotmail.com", "outlook.com", "icloud.com", "aol.com", "msn.com", "comcast.net",
                  "live.com", "protonmail.com"]
_RELATIONS_PERSON = ["Spouse", "Spouse", "Spouse", "Son", "Daughter", "Roommate", "Caregiver",
                     "Power of attorney", "Parent", "Property manager"]
_RELATIONS_BUSINESS = ["Bookkeeper", "Office manager", "Owner", "Partner", "Manager"]

_NOTES_GENERAL = [
    "Dog on premises - meter reader use caution.",
    "Locked gate; call member before site visit.",
    "Member asked about paperless billing; enrolled.",
    "Member called about high bill; explained winter heating usage, referred to energy services.",
    "Member asked about SmartHub setup; walked through online account access.",
    "Updated mailing address per member's call.",
    "Member asked about capital credit allocation; explained rotation.",
    "Outage call: lights flickering, tree on line reported near the road.",
    "Member requested due date change; explained bill cycles.",
    "Member asked about rebates for heat pump; referred to energy services consultant.",
    "Verified identity with last 4 of tax ID and DOB before discussing account.",
    "Member requested copy of last 12 months usage; mailed.",
    "Gate code on file, see member record.",
    "Member reports meter box damaged; service order created.",
]
_NOTES_DELINQUENT = [
    "Called member re past-due balance; left voicemail.",
    "Member promised to pay past-due balance by Friday.",
    "Disconnect notice mailed (7 days). Payment arrangement offered.",
    "Member applied for LIHEAP; pledge pending from the agency.",
    "Final contact attempt made by phone 24 hours before disconnection.",
]



# ---------------------------------------------------------------------------
# Summary
# ---------------------------------------------------------------------------
@dataclass
class DemoSummary:
    operators: int = 0
    members: int = 0
    businesses: int = 0
    authorized_persons: int = 0
    locations: int = 0
    meters: int = 0
    accounts: int = 0
    active: int = 0
    pending: int = 0
    disconnected: int = 0
    final: int = 0
    closed: int = 0
    moves: int = 0
    written_off: int = 0
    delinquent: int = 0
    cash_only: int = 0
    medical_cert: int = 0
    winter_protected: int = 0
    landlord: int = 0
    bankruptcy: int = 0
    budget_billing: int = 0
    collections: int = 0
    deposits: int = 0
    returning_members: int = 0
    readings: int = 0
    ledger_entries: int = 0
    bills: int = 0
    payments: int = 0
    returned_payments: int = 0
    late_fees: int = 0
    service_orders: int = 0
    notes: int = 0
    search_terms: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, int | float]:
        return {f.name: getattr(self, f.name) for f in dc_fields(self)}

    def __str__(self) -> str:
        return (f"{self.accounts:,} accounts ({self.active:,} active, {self.pending:,} pending, "
                f"{self.disconnected:,} disconnected, {self.final:,} final, {self.closed:,} closed) of "
                f"{self.members:,} members; {self.readings:,} readings, {self.ledger_entries:,} ledger entries, "
                f"{self.service_orders:,} orders, {self.notes:,} notes, {self.search_terms:,} search terms "
                f"in {self.seconds:.1f} s")


# ---------------------------------------------------------------------------
# Bulk writer
# ---------------------------------------------------------------------------
class _Table:
    """Rows of one model, written in bulk. `names` are the fields the generator
    fills, in row order; any other column (added to the model later) gets its
    default, so an additive schema change does not break the demo."""

    def __init__(self, model: type[db.BaseModel], names: list[str], postgres: bool):
        self.model = model
        self.rows: list[tuple] = []
        self.count = 0
        self.postgres = postgres
        meta = model._meta
        extra, self.defaults = [], ()
        for f in meta.sorted_fields:
            if f.name in names or (f.primary_key and f.name == "id" and "id" not in names):
                continue
            if f.default is None and not f.null:
                raise RuntimeError(f"demo: {meta.table_name}.{f.column_name} is NOT NULL without a default; "
                                   f"teach kec_tui/demo/builder.py to fill it")
            value = f.default() if callable(f.default) else f.default
            extra.append(f.name)
            self.defaults += (f.db_value(value),)
        self.columns = [meta.fields[n].column_name for n in names + extra]
        cols = ", ".join(f'"{c}"' for c in self.columns)
        if postgres:
            self.sql = f'INSERT INTO "{meta.table_name}" ({cols}) VALUES %s'
        else:
            self.sql = f'INSERT INTO "{meta.table_name}" ({cols}) VALUES ({", ".join("?" * len(self.columns))})'

    def flush(self, cursor) -> None:
        rows = self.rows
        if not rows:
            return
        if self.defaults:
            d = self.defaults
            rows = [r + d for r in rows]
        if self.postgres:
            from psycopg2.extras import execute_values
            execute_values(cursor, self.sql, rows, page_size=5000)
        else:
            cursor.executemany(self.sql, rows)
        self.count += len(rows)
        self.rows = []


# ---------------------------------------------------------------------------
# Dates
# ---------------------------------------------------------------------------
def _add_months(year: int, month: int, k: int) -> tuple[int, int]:
    n = year * 12 + (month - 1) + k
    return n // 12, n % 12 + 1


def _plus_year(o: int) -> int:
    """The same day a year later (Feb 29 -> Feb 28), as returns.py's 12 months."""
    d = dt.date.fromordinal(o)
    try:
        return d.replace(year=d.year + 1).toordinal()
    except ValueError:
        return d.replace(year=d.year + 1, day=28).toordinal()


def _winter_end(o: int) -> int:
    d = dt.date.fromordinal(o)
    year = d.year + 1 if d.month >= 3 else d.year
    return (dt.date(year, 3, 1) - dt.timedelta(days=1)).toordinal()


class _Calendar:
    """Ordinal-day helpers and the bill dates of each cycle over the window."""

    def __init__(self, today: dt.date, months: int):
        self.today = today.toordinal()
        self.months = months
        self._iso: dict[int, str] = {}
        self._month: dict[int, int] = {}
        # cycle -> [(read_ord, bill_ord, due_ord)], oldest first; the newest bill is dated today or before
        self.cycles: dict[int, list[tuple[int, int, int]]] = {}
        for cycle, day in CYCLE_DAYS.items():
            y, m = today.year, today.month
            if today.day < day:
                y, m = _add_months(y, m, -1)
            out = []
            for k in range(months - 1, -1, -1):
                yy, mm = _add_months(y, m, -k)
                bill = dt.date(yy, mm, day).toordinal()
                out.append((bill - READ_LEAD_DAYS, bill, bill + fees.DUE_DAYS))
            self.cycles[cycle] = out
        first_reads = [c[0][0] for c in self.cycles.values() if c]
        # The window opens a month before the first read.
        self.start = (min(first_reads) if first_reads else self.today) - 31
        self.winter = today.month in (12, 1, 2)

    def iso(self, o: int) -> str:
        s = self._iso.get(o)
        if s is None:
            s = self._iso[o] = dt.date.fromordinal(o).isoformat()
        return s

    def month(self, o: int) -> int:
        m = self._month.get(o)
        if m is None:
            m = self._month[o] = dt.date.fromordinal(o).month
        return m


# Seasonal shape of use by calendar month (index 1..12): North Idaho winters
# peak on electric heat, with a small summer bump for cooling; irrigation in summer.
_SEASON_RES = (0, 1.50, 1.32, 1.10, 0.88, 0.74, 0.74, 0.88, 0.88, 0.74, 0.85, 1.12, 1.45)
_SEASON_SGS = (0, 1.25, 1.18, 1.05, 0.92, 0.85, 0.90, 1.00, 1.00, 0.88, 0.90, 1.05, 1.22)
_SEASON_IRR = (0, 0.03, 0.03, 0.05, 0.45, 1.60, 2.70, 3.10, 2.70, 1.10, 0.15, 0.04, 0.03)
_SEASON = {"RES": _SEASON_RES, "SGS": _SEASON_SGS, "LGS": _SEASON_SGS, "IRR": _SEASON_IRR}

# Per-account traits, chosen by quota so that even a small demo has some of each.
(F_CLOSED, F_DELINQ, F_LANDLORD, F_BANKRUPT, F_BUDGET, F_MEDICAL, F_RET2, F_RET1, F_LATE, F_NEW,
 F_PENDING) = (1 << i for i in range(11))
_QUOTAS = [  # (trait, share of accounts, at least this many in a demo of 100 accounts or more)
    (F_CLOSED, 0.040, 8), (F_DELINQ, 0.080, 4), (F_LANDLORD, 0.030, 2), (F_BANKRUPT, 0.002, 1),
    (F_BUDGET, 0.050, 2), (F_MEDICAL, 0.005, 1), (F_RET2, 0.010, 2), (F_RET1, 0.006, 1),
    (F_LATE, 0.120, 3), (F_NEW, 0.030, 2), (F_PENDING, 0.003, 1),
]
# Ledger events of an account: (day, same-day order, seq, amount, data), walked in order.
(_EV_BILL, _EV_CHARGE, _EV_TRANSFER_IN, _EV_DEPOSIT_APPLY, _EV_TRANSFER_OUT, _EV_LATE, _EV_PAY, _EV_REV,
 _EV_WO) = range(9)
_CREWS = ["Crew 1", "Crew 2", "Crew 3", "Serviceman - Athol", "Serviceman - Harrison", "Meter tech",
          "Remote (AMI)"]


# ---------------------------------------------------------------------------
# The builder
# ---------------------------------------------------------------------------
def build_demo(accounts: int = 30_000, months: int = 24, seed: int = 1,
               progress: Callable[[int, int], None] | None = None,
               today: dt.date | None = None) -> DemoSummary:
    """Fill the connected, migrated, empty database with a demo co-op; return its counts.

    Deterministic for (accounts, months, seed, today). `months` of readings, bills
    and payments end at `today` (default: the real today); 0 makes accounts
    without history. `progress(done, total)` is called at least every 1% of the
    accounts; `total` is the accounts plus a share for building the indexes at
    the end, and the last call is (total, total). Refuses (ValueError) a database
    that already has accounts, members, locations, meters or ledger entries.
    """
    if accounts < 1:
        raise ValueError("The demo needs at least 1 account")
    if months < 0:
        raise ValueError("Months of history cannot be negative")
    today = today or dt.date.today()
    if db.Account.select().exists():
        raise ValueError("This database already has accounts: the demo is built only into an empty database "
                         "(use a new file, or drop the tables first)")
    for model in (db.Member, db.ServiceLocation, db.Meter, db.LedgerEntry, db.SearchTerm):
        if model.select().exists():
            raise ValueError(f"This database already has {model._meta.table_name} rows: the demo is built only "
                             f"into an empty database")
    started = time.perf_counter()
    postgres = db.is_postgres()
    builder = _Builder(accounts, months, seed, progress, today, postgres)
    saved = None if postgres else _sqlite_fast_begin()
    try:
        with db.database.atomic():
            builder.run()
            from kec_tui.services import products

            products.seed_demo()            # the counter's price list (LED bulbs, surge protectors ...)
            db.set_meta("demo_seed", str(seed))
            db.set_meta("demo_today", today.isoformat())
            db.set_meta("demo_size", f"{accounts} accounts, {months} months")
        if postgres:
            _advance_sequences()
    finally:
        if saved is not None:
            _sqlite_fast_end(saved)
    builder.summary.seconds = round(time.perf_counter() - started, 2)
    if progress:
        progress(builder.total, builder.total)
    return builder.summary


def _sqlite_fast_begin() -> dict[str, object]:
    """Bulk-load settings for this connection; returns what to restore."""
    conn = db.database.obj
    saved = {name: conn.execute_sql(f"PRAGMA {name}").fetchone()[0]
             for name in ("synchronous", "journal_mode", "cache_size", "foreign_keys")}
    conn.execute_sql("PRAGMA synchronous=OFF")
    conn.execute_sql("PRAGMA foreign_keys=OFF")   # parents are written before children anyway
    conn.execute_sql("PRAGMA cache_size=-65536")  # 64 MiB while loading
    if str(saved["journal_mode"]).lower() == "wal":
        # One big transaction in WAL mode writes every page twice (WAL, then the
        # checkpoint); a rollback journal of a new file holds next to nothing.
        try:
            conn.execute_sql("PRAGMA journal_mode=DELETE")
        except Exception:  # noqa: BLE001 - another connection holds the WAL open: keep WAL
            pass
    return saved


def _sqlite_fast_end(saved: dict[str, object]) -> None:
    conn = db.database.obj
    if str(saved["journal_mode"]).lower() == "wal":
        try:
            conn.execute_sql("PRAGMA journal_mode=WAL")
        except Exception:  # noqa: BLE001
            pass
    conn.execute_sql(f"PRAGMA cache_size={int(saved['cache_size'])}")
    conn.execute_sql(f"PRAGMA foreign_keys={int(saved['foreign_keys'])}")
    conn.execute_sql(f"PRAGMA synchronous={int(saved['synchronous'])}")


_ID_MODELS = (db.Operator, db.Member, db.AuthorizedPerson, db.ServiceLocation, db.Meter, db.Account,
              db.LedgerEntry, db.Reading, db.ServiceOrder, db.Note, db.AuditLog, db.ReturnedPayment)


def _advance_sequences() -> None:
    """PostgreSQL: move each id sequence past the ids written explicitly."""
    for model in _ID_MODELS:
        t = model._meta.table_name
        db.database.execute_sql(
            f"SELECT setval(pg_get_serial_sequence('\"{t}\"', 'id'), COALESCE(MAX(id), 0) + 1, false) FROM \"{t}\"")


class _Random(random.Random):
    """Mersenne Twister with cheaper integer helpers (the stdlib ones cost ~1 us a call).
    Deterministic for a seed like its base; the tiny bias of int(random() * n) is
    irrelevant to demo data."""

    def randint(self, a: int, b: int) -> int:
        return a + int(self.random() * (b - a + 1))

    def randrange(self, start: int, stop: int | None = None, step: int = 1) -> int:
        if stop is None:
            return int(self.random() * start)
        return start + int(self.random() * (stop - start))

    def choice(self, seq):
        return seq[int(self.random() * len(seq))]


class _Person:
    """The member being generated; a member may hold several consecutive accounts."""

    __slots__ = ("member_id", "first", "last", "business", "female", "tax_id", "birth", "phones", "email",
                 "joined", "method", "extra_left", "next")

    def __init__(self) -> None:
        self.member_id = 0
        self.first = self.last = self.email = self.tax_id = ""
        self.business = self.female = False
        self.birth: str | None = None
        self.phones: list[str] = []
        self.joined = 0
        self.method = "mail"
        self.extra_left = 0
        self.next: tuple[str, dict] | None = None   # what the following account continues


class _Builder:
    def __init__(self, accounts: int, months: int, seed: int,
                 progress: Callable[[int, int], None] | None, today: dt.date, postgres: bool):
        self.n = accounts
        self.months = months
        self.rng = _Random(seed)
        self.seed = seed
        self.progress = progress
        self.postgres = postgres
        self.cal = _Calendar(today, months)
        self.summary = DemoSummary()
        self.sched = fees.schedule()
        # On SQLite the last share of the work is the sorted search index and the indexes.
        self.total = accounts if postgres else accounts + max(1, accounts // 5)
        pg = postgres
        D = db
        self.t_member = _Table(D.Member, ["id", "member_no", "first_name", "last_name", "tax_id_last4",
                                          "tax_id_hash", "birth_date", "phone_home", "phone_mobile",
                                          "phone_work", "email", "mail_street", "mail_city", "mail_state",
                                          "mail_zip", "preferred_contact", "joined", "bank_routing",
                                          "bank_account"], pg)
        self.t_auth = _Table(D.AuthorizedPerson, ["id", "member", "name", "relation", "phone"], pg)
        self.t_loc = _Table(D.ServiceLocation, ["id", "location_no", "street", "city", "state", "zip",
                                                "map_location", "owner_name", "owner_phone"], pg)
        self.t_meter = _Table(D.Meter, ["id", "meter_no", "location", "multiplier", "installed"], pg)
        self.t_acct = _Table(D.Account, ["id", "number", "member", "location", "meter", "rate_class", "status",
                                         "bill_cycle", "cash_only_until", "medical_cert_until", "landlord",
                                         "bankruptcy", "budget_billing", "collections", "deposit_cents",
                                         "opened", "closed", "winter_protection_until", "winter_household"], pg)
        self.t_ledger = _Table(D.LedgerEntry, ["id", "account", "posted_at", "effective", "kind", "amount_cents",
                                               "description", "reference", "due_date", "operator", "reverses"], pg)
        self.t_return = _Table(D.ReturnedPayment, ["id", "payment", "account", "code", "returned_on", "reversal",
                                                   "fee", "operator", "created_at"], pg)
        self.t_read = _Table(D.Reading, ["id", "account", "meter", "read_date", "reading", "kwh"], pg)
        self.t_order = _Table(D.ServiceOrder, ["id", "order_no", "account", "kind", "status", "priority",
                                               "due_date", "created_at", "completed_at", "notes", "operator",
                                               "member_requested", "dispatched_at", "dispatched_to",
                                               "completed_by", "reading", "meter_no", "fee_cents",
                                               "resolution"], pg)
        self.t_note = _Table(D.Note, ["id", "account", "created_at", "operator", "text"], pg)
        self.t_term = _Table(D.SearchTerm, ["term", "account", "kind"], pg)
        self.t_pair = _Table(D.SearchPair, ["key", "account", "kind"], pg)
        # Parents before children: the flush order is the foreign-key order.
        self.tables = [self.t_member, self.t_auth, self.t_loc, self.t_meter, self.t_acct, self.t_ledger,
                       self.t_return, self.t_read, self.t_order, self.t_note, self.t_term, self.t_pair]
        self.moves: list[tuple[int, int]] = []        # (old account id, new account id)
        self.member_id = self.auth_id = self.loc_id = self.meter_id = 0
        self.ledger_id = self.read_id = self.order_id = self.note_id = self.return_id = 0
        self.meter_no = 300_000_000 + self.rng.randrange(100_000)
        self.meter_step = max(2, min(400, 190_000_000 // accounts))  # all of them 3xxxxxxxx
        self.pole = 1000 + self.rng.randrange(1000)
        self.ami_start = dt.date(2013, 3, 1).toordinal()

    # -- setup ---------------------------------------------------------------
    def _operators(self) -> None:
        try:
            me = getpass.getuser()
        except Exception:  # noqa: BLE001 - no login name (some containers): nobody is mapped
            me = None
        specs = [("admin", "System Administrator", "admin", None),
                 ("super", "Dana Whitfield", "supervisor", None),
                 ("msr1", "Morgan Reyes", "msr", me),
                 ("msr2", "Casey Lindquist", "msr", None),
                 ("msr3", "Jordan Ellis", "msr", None),
                 ("billing1", "Pat Hagen", "billing", None),
                 ("collect1", "Robin Kessler", "collections", None)]
        self.op: dict[str, int] = {}
        for username, name, role, os_user in specs:
            info = operators_svc.create(username, name, role, os_user=os_user)
            if os_user:  # an msr1 made earlier keeps its row; map the runner to it all the same
                db.Operator.update(os_user=os_user).where(db.Operator.id == info.id).execute()
            self.op[username] = info.id
        self.msr_ids = (self.op["msr1"], self.op["msr2"], self.op["msr3"])
        self.staff_ids = self.msr_ids + (self.op["collect1"], self.op["billing1"])
        self.summary.operators = db.Operator.select().count()

    def _salt(self) -> str:
        salt = db.get_meta(TAX_ID_SALT_KEY)
        if salt is None:
            # Derived from the seed so that a seed rebuilds the same database; a real
            # conversion keeps a random secret here instead.
            salt = hashlib.sha256(f"kec-demo-tax-id-salt:{self.seed}".encode()).hexdigest()[:32]
            db.set_meta(TAX_ID_SALT_KEY, salt)
        return salt

    def _traits(self) -> array:
        n, rng = self.n, self.rng
        traits = array("H", bytes(2 * n))
        for trait, share, minimum in _QUOTAS:
            k = round(n * share)
            if n >= 100:
                k = max(k, minimum)
            for i in rng.sample(range(n), min(k, n)):
                traits[i] |= trait
        return traits

    # -- the loop ------------------------------------------------------------
    def run(self) -> None:
        self._operators()
        self.salt = self._salt()
        traits = self._traits()
        n = self.n
        chunk = max(1, min(2000, n // 100))
        cursor = db.database.cursor()
        sqlite_terms = not self.postgres
        if sqlite_terms:
            # Collected unsorted, inserted in primary-key order at the end: much
            # faster than inserting into the clustered (term, account) key at random.
            db.database.execute_sql("CREATE TEMP TABLE _demo_terms (term TEXT, account_id INTEGER, kind INTEGER)")
            self.t_term.sql = "INSERT INTO temp._demo_terms VALUES (?, ?, ?)"
            db.database.execute_sql("CREATE TEMP TABLE _demo_pairs (key TEXT, account_id INTEGER, kind INTEGER)")
            self.t_pair.sql = "INSERT INTO temp._demo_pairs VALUES (?, ?, ?)"
            indexed = [m for m in (db.Member, db.ServiceLocation, db.Meter, db.Account, db.LedgerEntry,
                                   db.ReturnedPayment, db.Reading, db.ServiceOrder, db.Note, db.SearchTerm,
                                   db.SearchPair)]
            for model in indexed:
                model._schema.drop_indexes(safe=True)
        person = _Person()
        progress = self.progress
        step = max(1, n // 100)
        if progress:
            progress(0, self.total)
        since_flush = 0
        for i in range(n):
            self._account(i, traits[i], person)
            since_flush += 1
            # A move links two consecutive accounts: never split them across chunks.
            if (since_flush >= chunk and person.next is None) or i + 1 == n:
                for t in self.tables:
                    t.flush(cursor)
                since_flush = 0
            if progress and (i + 1) % step == 0 and i + 1 < self.total:
                progress(i + 1, self.total)
        if self.moves:
            A = db.Account
            for old, new in self.moves:
                A.update(transferred_to=new).where(A.id == old).execute()
        if sqlite_terms:
            if self.progress:
                self.progress(n, self.total)
            db.database.execute_sql('INSERT INTO "search_term" ("term", "account_id", "kind") SELECT term, '
                                    'account_id, kind FROM temp._demo_terms ORDER BY term, account_id')
            db.database.execute_sql("DROP TABLE temp._demo_terms")
            db.database.execute_sql('INSERT INTO "search_pair" ("key", "account_id", "kind") SELECT key, '
                                    'account_id, kind FROM temp._demo_pairs ORDER BY key, account_id')
            db.database.execute_sql("DROP TABLE temp._demo_pairs")
            if self.progress:
                self.progress(n + (self.total - n) // 2, self.total)
            for model in indexed:
                model._schema.create_indexes(safe=True)
        s = self.summary
        s.members, s.authorized_persons = self.t_member.count, self.t_auth.count
        s.locations, s.meters, s.accounts = self.t_loc.count, self.t_meter.count, self.t_acct.count
        s.ledger_entries, s.readings = self.t_ledger.count, self.t_read.count
        s.service_orders, s.notes, s.search_terms = self.t_order.count, self.t_note.count, self.t_term.count

    # -- rows ----------------------------------------------------------------
    def _phone(self, mobile: bool) -> str:
        rng = self.rng
        prefix = rng.choice(_MOBILE if mobile else _LANDLINE)
        return f"208{prefix}{rng.randrange(10000):04d}"

    def _person_name(self, female: bool | None = None) -> tuple[str, str, bool]:
        rng = self.rng
        if female is None:
            female = rng.random() < 0.5
        first = rng.choices(FIRST_FEMALE, cum_weights=_FIRST_F_CW)[0] if female else \
            rng.choices(FIRST_MALE, cum_weights=_FIRST_M_CW)[0]
        return first, rng.choices(LAST_NAMES, cum_weights=_LAST_CW)[0], female

    def _new_location(self, rate_class: str, landlord: bool) -> tuple[int, str, str, str]:
        rng = self.rng
        city, zips, _w, town, rng_w = _CITIES[bisect_left(_CITY_CW, rng.randrange(_CITY_CW[-1]) + 1)]
        rural = rng.random() < 0.35 and city not in ("Coeur d'Alene", "Dalton Gardens")
        road = rng.choice(_RURAL if rural else _STREETS[city])
        number = rng.randint(1000, 39999) if rural else rng.randint(100, 14999)
        street = f"{number} {road}"
        if rate_class == "RES" and not rural:
            r = rng.random()
            if r < 0.06:
                street += f" Apt {rng.choice('ABCD') if r < 0.02 else rng.randint(1, 24)}"
            elif r < 0.09:
                street += f" Lot {rng.randint(1, 80)}"
        elif rate_class == "IRR":
            street += f" Pump {rng.randint(1, 4)}"
        self.loc_id += 1
        self.pole += rng.randint(1, 9)
        map_location = (f"T{town + rng.randint(-1, 1)}N R{max(1, rng_w + rng.randint(-1, 1))}W "
                        f"S{rng.randint(1, 36)} P-{self.pole}")
        owner_name = owner_phone = ""
        if landlord:
            if rng.random() < 0.4:
                owner_name, owner_phone = rng.choice(_LANDLORDS), self._phone(False)
            else:
                first, last, _f = self._person_name()
                owner_name, owner_phone = f"{first} {last}", self._phone(True)
        zip_ = zips[0] if len(zips) == 1 else rng.choice(zips)
        self.t_loc.rows.append((self.loc_id, LOCATION_NO_START - 1 + self.loc_id, street, city, "ID", zip_,
                                map_location, owner_name, owner_phone))
        return self.loc_id, street, city, zip_

    def _new_meter(self, loc_id: int, multiplier: int, installed: int) -> tuple[int, str]:
        self.meter_id += 1
        self.meter_no += self.rng.randint(1, self.meter_step)
        meter_no = str(self.meter_no)
        self.t_meter.rows.append((self.meter_id, meter_no, loc_id, multiplier, self.cal.iso(installed)))
        return self.meter_id, meter_no

    def _new_member(self, p: _Person, business: bool, joined: int, address: tuple[str, str, str],
                    same_person: bool = False) -> None:
        """A member row for `p`: a new person, or (same_person) a new membership of the
        person already in `p` (a former member coming back)."""
        rng, cal = self.rng, self.cal
        self.member_id += 1
        mid = self.member_id
        p.member_id, p.joined, p.extra_left = mid, joined, 0
        r = rng.random()
        if r < 0.84 or same_person:
            mail_street, mail_city, mail_zip = address
            mail_state = "ID"
        elif r < 0.93:
            mail_street = f"PO Box {rng.randint(1, 4999)}"
            mail_city, mail_zip = address[1], address[2]
            mail_state = "ID"
        else:
            mail_city, mail_state, mail_zip = rng.choice(_MAIL_AWAY)
            mail_street = (f"{rng.randint(100, 19999)} {rng.choice(('N', 'S', 'E', 'W'))} "
                           f"{rng.choice(('Maple', 'Oak', 'Pine', 'Cedar', 'Sunset', 'Park', 'Lake', 'Hill'))} "
                           f"{rng.choice(('St', 'Ave', 'Dr', 'Ln'))}")
        if same_person:
            home, mobile, work = p.phones
            if rng.random() < 0.6:
                mobile = self._phone(True)   # a new number; the old one still matches the audit by name/ID
            email = p.email
        elif business:
            p.business, p.female = True, False
            p.first = ""
            p.last = f"{rng.choice(_BUSINESS_PLACES)} {rng.choice(_BUSINESS_KINDS)}"
            if self.summary.businesses < len(_KNOWN_BUSINESSES):   # the ones the training guide names
                p.last = _KNOWN_BUSINESSES[self.summary.businesses]
            p.tax_id = f"82{rng.randrange(10_000_000):07d}"  # an EIN
            p.birth = None
            home, mobile, work = "", (self._phone(True) if rng.random() < 0.3 else ""), self._phone(False)
            email = ""
            if rng.random() < 0.55:
                slug = "".join(ch for ch in p.last.lower().replace("&", "and") if ch.isalnum())
                email = rng.choice((f"office@{slug}.com", f"info@{slug}.com", f"{slug[:20]}@gmail.com"))
        else:
            p.business = False
            p.first, p.last, p.female = self._person_name()
            area = rng.choice((518, 519)) if rng.random() < 0.45 else rng.randint(1, 899)
            if area == 666:
                area = 665
            p.tax_id = f"{area:03d}{rng.randint(1, 99):02d}{rng.randint(1, 9999):04d}"
            age_days = int((21 + rng.betavariate(2.0, 2.4) * 72) * 365.25)
            p.birth = cal.iso(cal.today - age_days - rng.randrange(365))
            old = age_days > 60 * 365
            mobile = self._phone(True) if rng.random() < (0.7 if old else 0.95) else ""
            home = self._phone(False) if rng.random() < (0.7 if old else 0.3) or not mobile else ""
            work = self._phone(False) if rng.random() < 0.12 else ""
            email = ""
            if rng.random() < 0.70:
                f, l_ = _slug(p.first), _slug(p.last)
                q = rng.random()
                local = f"{f}.{l_}" if q < 0.4 else (f"{f[0]}{l_}" if q < 0.7 else f"{f}{l_}")
                if rng.random() < 0.45:
                    local += str(rng.choice((rng.randint(1, 99), int(p.birth[2:4]), int(p.birth[:4]))))
                email = f"{local}@{rng.choice(_EMAIL_DOMAINS)}"
        p.email = email
        p.phones = [home, mobile, work]
        q = rng.random()
        if p.business:
            preferred = "email" if email and q < 0.5 else "phone"
        else:
            preferred = "email" if email and q < 0.45 else ("text" if mobile and q < 0.65 else
                                                          ("mail" if q > 0.93 else "phone"))
        r = rng.random()
        p.method = "ach" if r < 0.27 else ("card" if r < 0.50 else ("mail" if r < 0.92 else "counter"))
        routing = bank = ""
        if p.method == "ach":
            routing = rng.choice(_ROUTING)
            bank = str(rng.randint(10 ** (rng.randint(7, 11)), 10 ** 12 - 1))
        self.t_member.rows.append((mid, MEMBER_NO_START - 1 + mid, p.first, p.last, p.tax_id[-4:],
                                   hash_tax_id(self.salt, p.tax_id), p.birth, home, mobile, work, email,
                                   mail_street, mail_city, mail_state, mail_zip, preferred, cal.iso(joined),
                                   routing, bank))
        if rng.random() < 0.08:
            for _ in range(1 if rng.random() < 0.8 else 2):
                if p.business:
                    f2, l2, _x = self._person_name()
                    relation = rng.choice(_RELATIONS_BUSINESS)
                else:
                    relation = rng.choice(_RELATIONS_PERSON)
                    f2, l2, _x = self._person_name(
                        {"Son": False, "Daughter": True, "Spouse": not p.female}.get(relation))
                    if relation in ("Spouse", "Son", "Daughter", "Parent"):
                        l2 = p.last
                self.auth_id += 1
                self.t_auth.rows.append((self.auth_id, mid, f"{f2} {l2}", relation, self._phone(True)))
        if p.business:
            self.summary.businesses += 1

    def _old_opened(self) -> int:
        """When an account older than the window was opened (turnover: most are recent)."""
        return max(self.cal.start - 40 - int(self.rng.expovariate(1 / 2900)), _EARLIEST)

    # -- one account -----------------------------------------------------------
    def _account(self, i: int, traits: int, p: _Person) -> None:
        rng, cal, s, sched = self.rng, self.cal, self.summary, self.sched
        today = cal.today
        iso = cal.iso
        aid = i + 1
        number = make_account_number(ACCOUNT_BASE_START + i)
        follow, prev = p.next if p.next else (None, None)
        p.next = None
        if self.months == 0:
            traits &= ~(F_CLOSED | F_DELINQ)
        if follow is not None:
            traits = (traits | F_NEW) & ~(F_CLOSED | F_PENDING)
        if traits & (F_NEW | F_PENDING):
            traits &= ~F_CLOSED
        is_new = bool(traits & (F_NEW | F_PENDING))
        pending = bool(traits & F_PENDING)
        if follow is not None:
            origin = follow
        elif p.extra_left > 0:
            origin = "extra"
            p.extra_left -= 1
        else:
            origin = "member"
        new_membership = origin in ("member", "successor", "returning")

        # When the account opened, and whether (and how) it closed.
        closed = None
        close_kind = ""
        if origin == "successor":
            opened = prev["closed"] + rng.randint(0, 20)
        elif origin == "move":
            opened = prev["closed"]
        elif origin == "returning":
            opened = rng.randint(min(prev["closed"] + 120, today - 10), today - 5)
        elif pending:
            opened = today - rng.randint(0, 6)
        elif is_new:
            opened = rng.randint(cal.start + 10, max(cal.start + 10, today - 45))
        elif origin == "extra":
            opened = rng.randint(p.joined, max(p.joined, cal.start - 40))
        else:
            opened = self._old_opened()
        if traits & F_CLOSED:
            r = rng.random()
            close_kind = "writeoff" if r < 0.12 else ("unpaid" if r < 0.35 else ("move" if r < 0.55 else "paid"))
            if close_kind == "move" and (i + 1 >= self.n or p.extra_left):
                close_kind = "paid"
            if close_kind == "writeoff":
                closed = today - rng.randint(110, 420)
                if closed - 90 < opened:
                    if origin == "member":
                        opened = max(_EARLIEST, closed - 90 - rng.randrange(3000))
                    else:
                        close_kind = "unpaid"
            if close_kind != "writeoff":
                closed = rng.randint(max(opened + 20, cal.start + 5), today - 3)

        # Location, meter and member.
        if origin == "successor":
            loc_id, street, meter_id, meter_no = prev["loc"], prev["street"], prev["meter"], prev["meter_no"]
            cycle, multiplier, register = prev["cycle"], prev["multiplier"], prev["register"]
            rate_class, address = prev["rate_class"], prev["address"]
            self._new_member(p, rate_class != "RES", opened, address)
        else:
            if origin == "move":
                rate_class = prev["rate_class"]
            elif origin == "returning":
                rate_class = "RES"
            else:
                business = p.business if origin == "extra" else rng.random() < 0.045
                r = rng.random()
                if business:
                    rate_class = "SGS" if r < 0.7 else ("LGS" if r < 0.88 else "IRR")
                else:
                    rate_class = "RES" if r < 0.965 else ("IRR" if r < 0.985 else "SGS")
            cycle = rng.randint(1, 4)
            loc_id, street, city, zip_ = self._new_location(rate_class, bool(traits & F_LANDLORD))
            address = (street, city, zip_)
            if origin == "member":
                self._new_member(p, business, opened, address)
                if rng.random() < 0.05 and close_kind != "move":
                    p.extra_left = rng.choice((1, 1, 1, 1, 1, 1, 2, 2, 3))
            elif origin == "returning":
                self._new_member(p, False, opened, address, same_person=True)
                s.returning_members += 1
            multiplier = rng.choice((20, 40, 40, 80, 120)) if rate_class == "LGS" else 1
            register = rng.randint(0, 90_000)
            installed = opened if is_new or opened > self.ami_start else \
                rng.randint(self.ami_start, max(self.ami_start, min(cal.start - 30, self.ami_start + 1100)))
            meter_id, meter_no = self._new_meter(loc_id, multiplier, min(installed, today))
        if rate_class != "RES":
            traits &= ~(F_BUDGET | F_MEDICAL)
        register_at_open = register

        # Billing periods: each cycle read after opening, up to closing; then the final read.
        periods = []  # (start_ord, read_ord, bill_ord, due_ord, final)
        if not pending:
            prev_read = None
            for read, bill, due in cal.cycles[cycle]:
                if read - 5 <= opened:
                    continue
                if closed is not None and read >= closed:
                    break
                periods.append((prev_read if prev_read is not None else max(opened, read - 30), read, bill, due, False))
                prev_read = read
            if closed is not None:
                start = prev_read if prev_read is not None else max(opened, closed - 30)
                periods.append((min(start, closed - 5), closed, closed, closed + fees.DUE_DAYS, True))

        # Usage level and payment habits.
        season = _SEASON[rate_class]
        if rate_class == "RES":
            avg = min(3200.0, max(380.0, rng.lognormvariate(6.95, 0.38)))  # median ~1,050 kWh a month
            heat = rng.uniform(0.35, 1.35)  # gas or wood heat .. all-electric
        elif rate_class == "SGS":
            avg, heat = rng.lognormvariate(7.9, 0.55), rng.uniform(0.5, 1.1)
        elif rate_class == "LGS":
            avg, heat = rng.lognormvariate(10.4, 0.45), rng.uniform(0.6, 1.0)
        else:
            avg, heat = rng.lognormvariate(8.6, 0.6), 1.0
        daily = avg / 30.4
        base_cents, mills = fees.RATES[rate_class]
        typical = base_cents + int(avg) * mills // 10
        method = p.method
        budget = bool(traits & F_BUDGET)
        budget_cents = (typical // 100) * 100 if budget else 0
        delinquent_from = None
        if traits & F_DELINQ and closed is None:
            past_due = [k for k, per in enumerate(periods) if per[3] + 1 <= today]
            if past_due:
                k = rng.choices((1, 2, 3), (55, 30, 15))[0]
                delinquent_from = past_due[max(0, len(past_due) - k)]
        returns_wanted = 2 if traits & F_RET2 else (1 if traits & F_RET1 else 0)

        # Ledger events (day, same-day order, seq, amount, data).
        ev: list[tuple] = []
        seq = 1
        deposit = 0
        if is_new and (opened >= today - 365 or pending) and (origin == "returning" or rng.random() < 0.6):
            deposit = sched.deposit_flat_cents if rng.random() < 0.6 else \
                max(10000, (sched.deposit_months * typical // 100) * 100)
        elif origin == "move":
            deposit = prev["deposit"]
        elif (traits & (F_DELINQ | F_RET2) and rng.random() < 0.3) or rng.random() < 0.02:
            deposit = sched.deposit_flat_cents   # held since before the window
        if is_new and opened <= today:
            up_front = 0
            if new_membership and sched.membership_cents:
                ev.append((opened, _EV_CHARGE, seq, sched.membership_cents,
                           ("fee", "Membership fee", "MEMBERSHIP")))
                seq += 1
                up_front += 1
            if deposit and origin != "move":
                ev.append((opened, _EV_CHARGE, seq, deposit, ("deposit", "Security deposit billed", "DEPOSIT")))
                seq += 1
                up_front += 1
            if transfer_in := (prev["balance"] if origin == "move" else 0):
                ev.append((opened, _EV_TRANSFER_IN, seq, transfer_in, prev["number"]))
                seq += 1
                up_front += 1
            if up_front and not pending and delinquent_from != 0:
                pay = opened + rng.randint(0, 12)
                if pay <= today:
                    ev.append((pay, _EV_PAY, seq, 0, "counter" if method in ("ach", "mail") else method))
                    seq += 1
        reads = self.t_read.rows
        rid = self.read_id
        month = cal.month
        pay_cands = []
        for k, (start, read, bill, due, final) in enumerate(periods):
            days = read - start
            f = 1.0 + heat * (season[month((start + read) >> 1)] - 1.0)
            delta = int(days * daily * f * rng.uniform(0.87, 1.13)) // multiplier
            register += delta
            kwh = delta * multiplier
            rid += 1
            reads.append((rid, aid, meter_id, iso(read), register, kwh))
            if bill > today:
                continue
            if final:
                amount = fees.bill_cents(rate_class, kwh, days)
                desc, ref = f"Final bill: {kwh:,} kWh, {days} days", "FINAL"
            elif days < FULL_PERIOD_DAYS:
                amount = fees.bill_cents(rate_class, kwh, days)
                desc, ref = f"Electric service {kwh:,} kWh, {days} days", f"Cycle {cycle}"
            elif budget:
                actual = base_cents + (kwh * mills + 5) // 10
                amount = budget_cents
                desc = f"Budget billing (actual {actual // 100:,}.{actual % 100:02d}, {kwh:,} kWh)"
                ref = f"Cycle {cycle}"
            else:
                amount = base_cents + (kwh * mills + 5) // 10
                desc, ref = f"Electric service {kwh:,} kWh", f"Cycle {cycle}"
            ev.append((bill, _EV_BILL, seq, amount, (desc, ref, due)))
            seq += 1
            if final and close_kind != "move" and deposit:
                ev.append((bill, _EV_DEPOSIT_APPLY, seq, deposit, None))
                seq += 1
            if final and close_kind == "move":
                ev.append((bill, _EV_TRANSFER_OUT, seq, 0, None))
                seq += 1
            if due + 1 <= today and not (final and close_kind == "move"):
                ev.append((due + 1, _EV_LATE, seq, 0, None))
                seq += 1
            # The payment of this bill.
            if delinquent_from is not None and k >= delinquent_from:
                continue
            how = method
            if final:
                if close_kind != "paid":
                    continue
                pay = bill + rng.randint(5, 25)
                if how == "ach":
                    how = "mail"
            else:
                if method == "ach":
                    pay = due - 5
                elif method == "card":
                    pay = bill + rng.randint(2, fees.DUE_DAYS - 1)
                elif method == "mail":
                    pay = bill + rng.randint(7, fees.DUE_DAYS)
                else:
                    pay = bill + rng.randint(1, fees.DUE_DAYS)
                if traits & F_LATE and method != "ach" and rng.random() < 0.3:
                    pay = due + rng.randint(1, 14)
                if close_kind and close_kind != "paid" and pay > closed:
                    continue  # moved away (or moved service) with these bills unpaid
            if pay > today:
                continue
            ev.append((pay, _EV_PAY, seq, 0, how))
            if returns_wanted and how in ("ach", "mail") and today - 330 <= pay <= today - 8:
                pay_cands.append((seq, pay))
            seq += 1
        self.read_id = rid
        returned_on = []
        if pay_cands:
            for pseq, pday in sorted(rng.sample(pay_cands, min(returns_wanted, len(pay_cands)))):
                back = pday + rng.randint(3, 7)
                ev.append((back, _EV_REV, seq, pseq, rng.choice(_RETURN_PICK)))
                seq += 1
                returned_on.append(back)
        if close_kind == "writeoff":
            wo_day = closed + fees.DUE_DAYS + rng.randint(60, 90)
            if wo_day <= today:
                ev.append((wo_day, _EV_WO, seq, 0, None))
        ev.sort()

        # Walk the events in order; the amounts that depend on the balance are set here.
        lid = self.ledger_id
        led = self.t_ledger.rows
        ops = self.msr_ids
        billing_op = self.op["billing1"]
        balance = 0
        transferred = 0
        paid_by_seq: dict[int, tuple[int, int, str]] = {}
        n_bills = n_pay = n_late = n_ret = 0
        wrote_off = False
        for day, kind, sq, amount, data in ev:
            d = iso(day)
            if kind == _EV_BILL:
                lid += 1
                led.append((lid, aid, d + " 02:15:00", d, "bill", amount, data[0], data[1], iso(data[2]),
                            None, None))
                balance += amount
                n_bills += 1
            elif kind == _EV_LATE:
                if balance > 0:
                    fee = fees.late_fee_cents(balance, sched)
                    lid += 1
                    led.append((lid, aid, d + " 03:00:00", d, "fee", fee, "Late fee 1.5% of past-due balance",
                                "LATE", None, None, None))
                    balance += fee
                    n_late += 1
            elif kind == _EV_PAY:
                if balance <= 0:
                    continue
                lid += 1
                if data == "ach":
                    desc, ref, op, t = "Auto-pay (ACH)", f"ACH {lid * 7919 % 10_000_000:07d}", None, "05:30"
                elif data == "card":
                    desc, ref, op = "Card payment - SmartHub", f"AUTH {lid * 48271 % 1_000_000:06d}", None
                    t = f"{7 + lid % 15:02d}:{lid % 60:02d}"
                elif data == "mail":
                    desc = f"Mail payment batch {d[2:4]}{d[5:7]}{d[8:10]}-{1 + lid % 3}"
                    ref, op, t = f"CK {1001 + lid * 31 % 8999}", ops[lid % 3], f"{9 + lid % 7:02d}:{lid % 60:02d}"
                else:
                    if lid % 2:
                        desc, ref = "Counter payment - cash", f"RCPT {lid % 1_000_000:06d}"
                    else:
                        desc, ref = "Counter payment - check", f"CK {1001 + lid * 31 % 8999}"
                    op, t = ops[lid % 3], f"{8 + lid % 9:02d}:{lid % 60:02d}"
                paid_by_seq[sq] = (lid, balance, ref)
                led.append((lid, aid, f"{d} {t}:00", d, "payment", -balance, desc, ref, None, op, None))
                balance = 0
                n_pay += 1
            elif kind == _EV_REV:
                paid = paid_by_seq.get(amount)
                if paid is None:
                    continue
                pid, pamount, pref = paid
                code = data
                fee = sched.returned_payment_cents
                rev_id = lid + 1
                led.append((rev_id, aid, d + " 11:20:00", d, "reversal", pamount,
                            f"Returned payment {code} {RETURN_CODES[code]}", pref, None, billing_op, pid))
                fee_id = None
                lid = rev_id
                if fee:
                    fee_id = lid = rev_id + 1
                    led.append((fee_id, aid, d + " 11:20:00", d, "fee", fee, f"Returned payment fee ({code})",
                                code, None, billing_op, None))
                self.return_id += 1
                self.t_return.rows.append((self.return_id, pid, aid, code, d, rev_id, fee_id, billing_op,
                                           d + " 11:20:00"))
                balance += pamount + fee
                n_ret += 1
            elif kind == _EV_CHARGE:
                what, desc, ref = data
                lid += 1
                led.append((lid, aid, d + " 10:05:00", d, what, amount, desc, ref, iso(day + fees.DUE_DAYS),
                            ops[lid % 3], None))
                balance += amount
            elif kind == _EV_TRANSFER_IN:
                lid += 1
                led.append((lid, aid, d + " 10:10:00", d, "transfer", amount,
                            f"Balance transferred from account {data}", f"FROM {data}",
                            iso(day + fees.DUE_DAYS) if amount > 0 else None, ops[lid % 3], None))
                balance += amount
            elif kind == _EV_DEPOSIT_APPLY:
                lid += 1
                led.append((lid, aid, d + " 10:10:00", d, "deposit", -amount, "Deposit applied to final bill",
                            "DEPOSIT", None, ops[lid % 3], None))
                balance -= amount
                if balance < 0:
                    lid += 1
                    led.append((lid, aid, d + " 10:10:00", d, "adjustment", -balance,
                                "Refund of credit balance (check)", "REFUND", None, ops[lid % 3], None))
                    balance = 0
            elif kind == _EV_TRANSFER_OUT:
                transferred = balance
                if balance:
                    to = make_account_number(ACCOUNT_BASE_START + i + 1)
                    lid += 1
                    led.append((lid, aid, d + " 10:10:00", d, "transfer", -balance,
                                f"Balance transferred to account {to}", f"TO {to}", None, ops[lid % 3], None))
                    balance = 0
            elif balance > 0:  # write-off
                lid += 1
                led.append((lid, aid, d + " 14:00:00", d, "writeoff", -balance,
                            "Bad debt write-off - referred to collection agency", "WO", None,
                            self.op["super"], None))
                balance = 0
                wrote_off = True
        self.ledger_id = lid
        s.bills += n_bills
        s.payments += n_pay
        s.late_fees += n_late
        s.returned_payments += n_ret

        # Status and flags.
        months_behind = len(periods) - delinquent_from if delinquent_from is not None else 0
        delinquent = closed is None and not pending and months_behind > 0 and balance > 0
        medical = None
        if traits & F_MEDICAL and closed is None and not pending:
            medical = today + rng.randint(3, 30)
            s.medical_cert += 1
        winter_until, household = None, ""
        if delinquent and cal.winter and rate_class == "RES" and medical is None and rng.random() < 0.3:
            winter_until = iso(_winter_end(today))
            household = ",".join(sorted(rng.sample(("children", "elderly", "infirm"), rng.randint(1, 2))))
            s.winter_protected += 1
        disconnect = None  # (kind, status, created, done)
        if delinquent and months_behind >= 2:
            if medical or winter_until:
                disconnect = ("disconnect_nonpay", "cancelled", today - rng.randint(10, 20), None)
            elif (r := rng.random()) < 0.45:
                done = today - rng.randint(1, 12)
                disconnect = ("remote_disconnect" if rng.random() < 0.75 else "disconnect_nonpay", "completed",
                              done - rng.randint(7, 10), done)
            elif r < 0.8:
                disconnect = ("remote_disconnect" if rng.random() < 0.7 else "disconnect_nonpay",
                              rng.choice(("open", "open", "dispatched")), today - rng.randint(1, 9), None)
        if closed is not None:
            status = "closed" if balance == 0 else "final"
        elif pending:
            status = "pending"
        elif disconnect and disconnect[1] == "completed":
            status = "disconnected"
        else:
            status = "active"
        setattr(s, status, getattr(s, status) + 1)
        if delinquent:
            s.delinquent += 1
        collections = wrote_off or (status == "final" and closed + fees.DUE_DAYS + 60 <= today) or \
            (delinquent and months_behind >= 3 and rng.random() < 0.3)
        cash_only = None
        if returns_wanted == 2 and closed is None:
            until = _plus_year(returned_on[-1]) if len(returned_on) == 2 else \
                _plus_year(today - rng.randint(30, 200))   # the returns came before the window
            cash_only = iso(until)
            s.cash_only += until >= today
        landlord = bool(traits & F_LANDLORD)
        bankrupt = bool(traits & F_BANKRUPT)
        s.landlord += landlord
        s.bankruptcy += bankrupt
        s.budget_billing += budget
        s.collections += collections
        s.written_off += wrote_off
        held = 0 if closed is not None else deposit
        s.deposits += held > 0
        s.moves += close_kind == "move"

        self.t_acct.rows.append((aid, number, p.member_id, loc_id, meter_id, rate_class, status, cycle,
                                 cash_only, iso(medical) if medical else None, landlord, bankrupt, budget,
                                 collections, held, iso(opened), iso(closed) if closed is not None else None,
                                 winter_until, household))
        terms = search_index.terms_for(first_name=p.first, last_name=p.last, street=street, phones=p.phones,
                                       email=p.email, meter_no=meter_no, account_number=number)
        self.t_term.rows.extend([(t, aid, k) for t, k in terms.items()])
        self.t_pair.rows.extend([(t, aid, k) for t, k in search_index.pairs_for(terms).items()])

        self._orders_and_notes(aid, origin, status, opened, closed, close_kind, pending, is_new, delinquent,
                               disconnect, bankrupt, landlord, medical, winter_until, wrote_off, returned_on,
                               cash_only, meter_no, register_at_open, register, prev)

        # What the next account continues: the member's new service after a move, a
        # new member at a location left vacant, or a written-off member coming back.
        if closed is not None and p.extra_left == 0 and i + 1 < self.n:
            if close_kind == "move":
                self.moves.append((aid, aid + 1))
                p.next = ("move", {"closed": closed, "balance": transferred, "number": number,
                                   "deposit": deposit, "rate_class": rate_class})
            elif close_kind == "writeoff" and not p.business and closed + 130 < today and rng.random() < 0.3:
                p.next = ("returning", {"closed": closed, "number": number})
            elif closed + 25 < today and rng.random() < 0.6:
                p.next = ("successor", {"closed": closed, "loc": loc_id, "street": street, "meter": meter_id,
                                        "meter_no": meter_no, "cycle": cycle, "multiplier": multiplier,
                                        "register": register, "rate_class": rate_class,
                                        "address": address})

    # -- orders and notes ------------------------------------------------------
    def _order(self, aid: int, kind: str, status: str, created: int, due: int | None, done: int | None,
               text: str, priority: int = 3, reading: int | None = None, meter_no: str = "",
               resolution: str = "", member_requested: bool = False) -> None:
        iso = self.cal.iso
        self.order_id += 1
        oid = self.order_id
        op = self.staff_ids[oid % len(self.staff_ids)]
        created_at = f"{iso(created)} {8 + oid % 9:02d}:{oid * 7 % 60:02d}:00"
        dispatched_at = dispatched_to = None
        if status in ("dispatched", "completed"):
            dispatched_at = f"{iso(done if done else created)} {7 + oid % 3:02d}:{oid * 3 % 60:02d}:00"
            dispatched_to = "Remote (AMI)" if kind.startswith("remote") else _CREWS[oid % (len(_CREWS) - 1)]
        completed_at = f"{iso(done)} {10 + oid % 7:02d}:{oid * 11 % 60:02d}:00" if done is not None else None
        self.t_order.rows.append((oid, ORDER_NO_START - 1 + oid, aid, kind, status, priority,
                                  iso(due) if due is not None else None, created_at, completed_at, text, op,
                                  member_requested, dispatched_at, dispatched_to or "",
                                  self.staff_ids[(oid + 1) % 3] if done is not None else None,
                                  reading if done is not None else None, meter_no, 0, resolution))

    def _note(self, aid: int, day: int, text: str, op: int | None = None) -> None:
        self.note_id += 1
        nid = self.note_id
        self.t_note.rows.append((nid, aid, f"{self.cal.iso(day)} {8 + nid % 9:02d}:{nid * 13 % 60:02d}:00",
                                 op or self.staff_ids[nid % 3], text))

    def _orders_and_notes(self, aid: int, origin: str, status: str, opened: int, closed: int | None,
                          close_kind: str, pending: bool, is_new: bool, delinquent: bool, disconnect,
                          bankrupt: bool, landlord: bool, medical: int | None, winter_until: str | None,
                          wrote_off: bool, returned_on: list[int], cash_only: str | None, meter_no: str,
                          first_read: int, last_read: int, prev: dict | None) -> None:
        rng, cal = self.rng, self.cal
        today = cal.today
        start = max(cal.start, opened)
        collect = self.op["collect1"]
        if pending:
            self._order(aid, "connect", "open", opened, _next_business_day(opened), None,
                        "New service connect", 2, meter_no=meter_no)
        elif origin == "successor":
            self._order(aid, "move_in_read", "completed", opened - 3, opened, opened, "Move-in read, new member",
                        2, first_read, meter_no)
        elif is_new:
            text = (f"Connect: moving from account {prev['number']}" if origin == "move" else
                    "New service connect; meter set")
            self._order(aid, "connect", "completed", opened - rng.randint(1, 10), opened, opened, text, 2,
                        first_read, meter_no)
        if origin == "returning":
            self._note(aid, opened, f"Bad-debt audit: earlier account {prev['number']} written off. Supervisor "
                       f"override: payment arrangement on the old balance, deposit required.", self.op["super"])
        if closed is not None:
            self._order(aid, "move_out_read", "completed", closed - 5, closed, closed,
                        "Final read" if close_kind != "move" else "Final read, member moving", 2, last_read,
                        meter_no)
            if close_kind != "move":
                self._note(aid, closed - 5, "Member requested final bill; forwarding address taken.")
            if wrote_off:
                self._note(aid, min(today, closed + 110), "Final balance written off and referred to the "
                           "collection agency.", collect)
        if disconnect:
            kind, st, created, done = disconnect
            resolution = ""
            if st == "cancelled":
                resolution = "Medical certificate on file" if medical else "Winter protection declared"
            self._order(aid, kind, st, created, created + rng.randint(7, 10), done,
                        "Disconnect for non-pay after 7-day notice", 2, last_read if done else None, meter_no,
                        resolution)
            if st == "completed":
                self._note(aid, done, "Service disconnected for non-pay; reconnect after payment in full "
                           "or an arrangement.", collect)
        if delinquent:
            for text in rng.sample(_NOTES_DELINQUENT, 1 if rng.random() < 0.6 else 2):
                self._note(aid, today - rng.randint(0, 25), text, collect)
        if medical:
            received = medical - 30
            self._note(aid, max(received, start), f"Medical certificate received {_mdy(received)}; "
                       f"disconnection postponed until {_mdy(medical)}.")
        if winter_until:
            self._note(aid, today - rng.randint(0, 20), "Winter protection: member declared inability to pay "
                       "with a protected household; no disconnection before March.", collect)
        if bankrupt:
            self._note(aid, today - rng.randint(20, 200), f"Bankruptcy Chapter {rng.choice((7, 7, 13))} filed, "
                       f"case {rng.randint(18, 25)}-{rng.randint(20001, 20999)}-TLM; pre-petition balance held.",
                       collect)
        if landlord:
            self._note(aid, start, "Landlord agreement on file: service reverts to the owner on move-out.")
        for back in returned_on:
            self._note(aid, back, "Returned payment posted; member notified by letter.", self.op["billing1"])
        if cash_only and len(returned_on) == 2:
            self._note(aid, returned_on[-1], f"Second returned payment in 12 months: cash only until "
                       f"{_mdy(dt.date.fromisoformat(cash_only).toordinal())}.", self.op["billing1"])
        r = rng.random()
        if r < 0.05:
            self._note(aid, rng.randint(start, today), rng.choice(_NOTES_GENERAL))
        if r < 0.03 and status == "active":
            kind = rng.choice(("meter_test", "reread", "reread", "meter_replace", "other", "meter_test"))
            created = rng.randint(start, today)
            text = {"meter_test": "Member disputes usage; test meter accuracy",
                    "reread": "High bill complaint; re-read meter",
                    "meter_replace": "Meter display failed; replace meter",
                    "other": "Check service drop; tree limbs on line"}[kind]
            resolution = ""
            if created >= today - 12:
                st, done = rng.choice(("open", "open", "dispatched")), None
            elif rng.random() < 0.9:
                st, done = "completed", min(today, created + rng.randint(0, 6))
            else:
                st, done, resolution = "cancelled", None, "Member withdrew the request"
            self._order(aid, kind, st, created, created + rng.randint(1, 10), done, text, 3,
                        last_read if kind != "other" else None, meter_no if kind != "other" else "",
                        resolution, kind in ("meter_test", "reread") and rng.random() < 0.3)


_EARLIEST = dt.date(1968, 1, 2).toordinal()


def _next_business_day(o: int) -> int:
    o += 1
    while dt.date.fromordinal(o).weekday() >= 5:
        o += 1
    return o


def _mdy(o: int) -> str:
    return dt.date.fromordinal(o).strftime("%m/%d/%Y")


def _slug(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())
