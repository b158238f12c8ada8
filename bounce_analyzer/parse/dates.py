"""The notice's own Date, as UTC ISO 8601."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.message import Message
from email.utils import parsedate_to_datetime

from .message import header

_MONTHS = {m: i for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov",
                                       "dec"), 1)}


def _rfc5322_date(value: str) -> str | None:
    """"Thu, 29 Apr 1999 23:34:45 +0900 (JST)", the form nearly every notice uses, as UTC ISO 8601, read by splitting
    rather than by the general parser; None for anything else (another form, or "-0000": zone unknown)."""
    parts = value.split()
    if parts and parts[0].endswith(","):
        parts = parts[1:]
    if len(parts) < 5 or len(parts) > 6:
        return None
    day, mon, year, clock, zone = parts[:5]
    month = _MONTHS.get(mon.lower())
    hms = clock.split(":")
    if (month is None or not day.isdigit() or len(year) != 4 or not year.isdigit() or year < "0100" or len(hms) != 3
            or not all(x.isdigit() and len(x) == 2 for x in hms) or len(zone) != 5 or zone[0] not in "+-"
            or not zone[1:].isdigit() or zone == "-0000"):
        return None
    try:
        local = datetime(int(year), month, int(day), int(hms[0]), int(hms[1]), int(hms[2]))
        offset = timedelta(hours=int(zone[1:3]), minutes=int(zone[3:]))
        utc = local - offset if zone[0] == "+" else local + offset
    except (ValueError, OverflowError):  # no such day, or beyond year 9999 in UTC
        return ""
    return utc.isoformat(timespec="seconds") + "+00:00"


def notice_date(msg: Message) -> str | None:
    """The notice's Date header as UTC ISO 8601, or None when it has none that can be read."""
    value = header(msg, "date")
    if not value:
        return None
    fast = _rfc5322_date(value) if len(value) < 80 else None
    if fast is not None:
        return fast or None
    try:
        when = parsedate_to_datetime(value)
        if when.tzinfo is None:  # "-0000": the time is UTC, the zone unknown
            when = when.replace(tzinfo=UTC)
        return when.astimezone(UTC).isoformat(timespec="seconds")
    except (TypeError, ValueError, IndexError, OverflowError):  # no such day, or beyond year 9999 in UTC
        return None
