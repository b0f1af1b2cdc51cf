"""Detection via monitoring (seed 2.1 "Detection: via monitoring or reporting"): alerts posted by an
`AlertSource` become classified incidents, one per group of alerts, without flooding the service desk.

- `intake`: a delivery, bounded (10 MiB, 5,000 alerts), parsed, kept 30 days, and correlated.
- `correlation`: which incident an alert belongs to (its group's), and what it does there: raise, join,
  count, reopen, link a recurrence, record a recovery; set-based, so a storm costs a few queries.
- `actions`: what the intake does to incidents, through the incident services, as the source's account.
- `sources`: the source's system account and token. `retention`: the daily purge of raw payloads.
"""

from .correlation import AlertOutcome
from .intake import AlertIntakeResult, alert_receive
from .retention import PAYLOAD_RETENTION, alert_payloads_purge
from .sources import (
    ACCOUNT_PERMISSIONS,
    alert_source_account,
    alert_source_authenticate,
    alert_source_issue_token,
)

__all__ = [
    "ACCOUNT_PERMISSIONS",
    "PAYLOAD_RETENTION",
    "AlertIntakeResult",
    "AlertOutcome",
    "alert_payloads_purge",
    "alert_receive",
    "alert_source_account",
    "alert_source_authenticate",
    "alert_source_issue_token",
]
