"""A list change's full result as a CSV document, for when its summary cannot name every
group within Telegram's 4,096 characters: one row per group, in English like the audit log."""

from __future__ import annotations

import csv
import io

from bot import texts
from bot.domain import BulkProgress

NAME = "results.csv"
#: a spreadsheet reads a cell starting with one of these as a formula
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def results_csv(progress: BulkProgress) -> bytes:
    """group, outcome, url, reason: every group of the list, the refused ones included."""
    rows = [(r.name, r.status.value, r.url or "", r.reason or "") for r in progress.results]
    rows += [(r.name, "refused", "", str(texts.refusal_words(r.reason))) for r in progress.refused]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(("group", "outcome", "url", "reason"))
    writer.writerows(tuple(_cell(value) for value in row) for row in rows)
    return out.getvalue().encode()


def _cell(value: str) -> str:
    """A value a spreadsheet shows as text: a provider's reason is not a formula to run."""
    return "'" + value if value.startswith(_FORMULA) else value
