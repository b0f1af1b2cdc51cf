"""The search indexes' migration is safe to run again after an interrupted concurrent build."""

import importlib

import pytest
from django.apps import apps
from django.db import connection

migration = importlib.import_module("incidents.migrations.0016_search_indexes")


def index_validity(name: str):
    with connection.cursor() as cursor:
        cursor.execute("SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass(%s)", [name])
        row = cursor.fetchone()
    return row and row[0]


@pytest.mark.django_db(transaction=True)
def test_an_index_left_invalid_by_an_interrupted_build_is_built_again(postgres):
    name = "incident_title_trgm"
    assert index_validity(name) is True
    # What an interrupted CREATE INDEX CONCURRENTLY leaves: the index exists, marked invalid.
    with connection.cursor() as cursor:
        cursor.execute("UPDATE pg_index SET indisvalid = false WHERE indexrelid = to_regclass(%s)", [name])
    assert index_validity(name) is False
    with connection.schema_editor(atomic=False) as editor:
        migration.create_indexes(apps, editor)
    assert index_validity(name) is True
