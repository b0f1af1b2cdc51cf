"""The little date arithmetic the reports need that SQL dialects spell differently: seconds between two
timestamps. Everything else in the selectors is portable ORM or portable SQL (CASE, window functions, CTEs).

SQLite keeps timestamps as UTC text and has `julianday()` (millisecond precision, plenty for reports
rounded to the second); PostgreSQL subtracts timestamps into an interval and extracts its epoch.
"""

from __future__ import annotations

from django.db import NotSupportedError
from django.db.models import FloatField, Func


class SecondsBetween(Func):
    """Seconds from `start` to `end` (negative when `end` is earlier), as a float."""

    output_field = FloatField()
    arity = 2

    def __init__(self, start, end, **extra):
        super().__init__(end, start, **extra)

    def as_sql(self, compiler, connection, **extra):
        raise NotSupportedError(f"Reports support SQLite and PostgreSQL, not {connection.vendor}.")

    def as_sqlite(self, compiler, connection, **extra):
        return super().as_sql(
            compiler,
            connection,
            template="((julianday(%(expressions)s)) * 86400.0)",
            arg_joiner=") - julianday(",
            **extra,
        )

    def as_postgresql(self, compiler, connection, **extra):
        return super().as_sql(
            compiler,
            connection,
            template="CAST(EXTRACT(EPOCH FROM (%(expressions)s)) AS double precision)",
            arg_joiner=" - ",
            **extra,
        )


def seconds_between_sql(connection, start: str, end: str) -> str:
    """The same as `SecondsBetween`, for hand-written SQL: two SQL expressions in, one SQL expression out."""
    if connection.vendor == "sqlite":
        return f"((julianday({end}) - julianday({start})) * 86400.0)"
    if connection.vendor == "postgresql":
        return f"CAST(EXTRACT(EPOCH FROM ({end} - {start})) AS double precision)"
    raise NotSupportedError(f"Reports support SQLite and PostgreSQL, not {connection.vendor}.")


def timestamp_param(connection, value):
    """A datetime as the backend's column values look (SQLite: UTC text), for raw SQL parameters that are
    compared with stored timestamps."""
    return connection.ops.adapt_datetimefield_value(value)
