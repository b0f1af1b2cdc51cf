"""Date formats for English (the site's `en-gb` included; `settings.FORMAT_MODULE_PATH`): times on the
24-hour clock with the time zone's abbreviation ("2 Mar 2026, 23:15 CET"), since each user sees times in
their own zone (`incidents.middleware`). Anything not set here is Django's `en_GB`."""

DATETIME_FORMAT = "j M Y, H:i T"
SHORT_DATETIME_FORMAT = "d/m/Y H:i T"

# Dates typed and shown in forms read one way only: ISO first ("2026-12-01"), so nobody wonders whether
# 01/12 is January or December; the day-first forms people type are still understood.
DATE_INPUT_FORMATS = ["%Y-%m-%d", "%d/%m/%Y", "%d/%m/%y"]
DATETIME_INPUT_FORMATS = [
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%dT%H:%M",
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%Y-%m-%d",
    "%d/%m/%Y",
]
