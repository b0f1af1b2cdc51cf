"""Text that leaves the system for another program to interpret: spreadsheet cells and e-mail headers.

Titles, notes and names come from any signed-in user, and legacy rows were stored before today's input
checks, so the outputs defend themselves: every CSV the project writes passes its cells through
`csv_cell`, and every e-mail subject passes through `header_line`. `reporting` and `escalation` import these;
`incidents` itself uses them for its CSV export.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# Spreadsheets run a cell starting with one of these as a formula (OWASP "CSV injection"): = + - @ tab CR.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# A cell that would run, or one that was escaped already: "'=x" is written "''=x", so that removing one "'"
# in front of a formula start on the way back in gives exactly "'=x" again, and "'quoted" stays as it is.
_RUNS = re.compile(r"'*[=+\-@\t\r]")
# A plain number ("-5", "2.5", "-1e3") is shown as that number and runs nothing.
_NUMBER = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?")
# What would end a header line or break the message: C0 and C1 controls (CR, LF, tab, NUL, ...), DEL and
# the Unicode line and paragraph separators.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


def csv_cell(value):
    """`value` as a spreadsheet should show it: text starting with = + - @, a tab or a CR gets a leading "'"
    so it is shown, not run. Anything not text (numbers, None) and text that is just a number are returned
    as they are."""
    if not isinstance(value, str) or _NUMBER.fullmatch(value) or not _RUNS.match(value):
        return value
    return "'" + value


def csv_row(values: Iterable) -> list:
    return [csv_cell(value) for value in values]


def csv_cell_restore(text: str) -> str:
    """Undo `csv_cell` on a cell read back from a file this project wrote: the one "'" it adds goes when
    what follows would run as a formula; any other leading "'" is the text's own and stays."""
    return text[1:] if text.startswith("'") and _RUNS.match(text, 1) else text


def header_line(text: str, max_length: int | None = None) -> str:
    """`text` fit for an e-mail header (a subject, a display name): each run of control characters (CR
    and LF above all, which would end the header and start another, or make the mail library refuse the
    whole message) becomes one space, so an old title like "pve-07 down\\r\\nBcc: x@evil" stays a
    harmless part of one line. Cut to `max_length` characters when given."""
    line = _CONTROL.sub(" ", str(text)).strip()
    return line[:max_length].rstrip() if max_length is not None else line
