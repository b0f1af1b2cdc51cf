"""Date formats for English (the site's `en-gb` included; `settings.FORMAT_MODULE_PATH`): times on the
24-hour clock with the time zone's abbreviation ("2 Mar 2026, 23:15 CET"), since each user sees times in
their own zone (`incidents.middleware`). Anything not set here is Django's `en_GB`."""

DATETIME_FORMAT = "j M Y, H:i T"
SHORT_DATETIME_FORMAT = "d/m/Y H:i T"
