"""Indexes for the incident search (`selectors.search_incidents`), PostgreSQL only: trigram indexes (pg_trgm)
for the `icontains` conditions on the number, the title and the labels of every alert, and a GIN index on the full-text
document of title and description. Without them a search read every incident and computed its document
(3.5 s at a million incidents). The expressions are exactly the ones Django writes for those lookups and for
`selectors.search_document`, or PostgreSQL would not use them.

Built CONCURRENTLY (so outside a transaction): a running system keeps logging and updating incidents while
they build. A concurrent build that was interrupted leaves an invalid index behind, which `IF NOT EXISTS`
would keep: such a leftover is dropped and built again. pg_trgm is a trusted extension (PostgreSQL 13+): the database's owner may create it. Other
databases get nothing; their search reads every row, which at their sizes is fine."""

from django.db import migrations

INDEXES = {
    "incident_number_trgm": 'incidents_incident USING gin ((UPPER("number"::text)) gin_trgm_ops)',
    "incident_title_trgm": 'incidents_incident USING gin ((UPPER("title"::text)) gin_trgm_ops)',
    "incident_search_document": (
        "incidents_incident USING gin "
        "((to_tsvector('english'::regconfig, COALESCE(\"title\", '') || ' ' || COALESCE(\"description\", ''))))"
    ),
    "alert_labels_trgm": 'incidents_alert USING gin ((UPPER("labels"::text)) gin_trgm_ops)',
}


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, definition in INDEXES.items():
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(
                "SELECT NOT indisvalid FROM pg_index WHERE indexrelid = to_regclass(%s)",
                [name],
            )
            row = cursor.fetchone()
        if row and row[0]:
            schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")
        schema_editor.execute(f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON {definition}")


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("incidents", "0015_alert_correlation"),
    ]

    operations = [migrations.RunPython(create_indexes, drop_indexes)]
