"""How payment screens write amounts, batch totals and the member of an account, in one place."""
from __future__ import annotations

from rich.text import Text

from kec_tui import money
from kec_tui.services import batches
from kec_tui.services.batches import BatchTotals


def cents_text(cents: int) -> str:
    """Cents -> the form's canonical amount text ("123.45")."""
    return str(money.to_decimal(cents))


def signed_dollars(cents: int) -> str:
    """-76544 -> "-$765.44", 1200 -> "+$12.00", 0 -> "$0.00"."""
    return ("+" if cents > 0 else "") + money.fmt_dollars(cents)


def totals_text(t: BatchTotals) -> Text:
    """``Keyed 12 / 20   $1,234.56 / $2,000.00   Diff -8  -$765.44``, coloured by state."""
    out = Text()
    out.append("Keyed ", style="dim")
    out.append(f"{t.count:,} / {t.control_count:,}", style="bold")
    out.append("   ")
    out.append(money.fmt_dollars(t.total_cents), style="bold")
    out.append(f" / {money.fmt_dollars(t.control_total_cents)}")
    out.append("   ")
    if t.balanced:
        out.append(" BALANCED ", style="bold reverse green")
    else:
        diff = f"Diff {t.count_difference:+,}  {signed_dollars(t.total_difference_cents)}"
        out.append(diff, style="bold yellow")
    if t.void_count:
        out.append(f"   {t.void_count} void", style="dim")
    return out


def account_info_line(info: batches.EntryAccount) -> str:
    """The member an account number names, as the form's info line shows it while keying."""
    parts = [info.name, info.service_address, f"Due {money.fmt_dollars(info.amount_due_cents)}"]
    if info.status in batches.CLOSED_STATUSES:
        parts.append("FINAL-BILLED" if info.status == "final" else "CLOSED")
    parts += list(info.flags)
    return "  ".join(parts)
