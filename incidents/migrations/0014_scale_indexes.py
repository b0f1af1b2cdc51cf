"""The work list's order as an index (`clocks.work_order_expressions`): a page of the incident list, with or
without a state filter, is read from the index instead of sorting every incident (at 200k incidents the
"all states" page went from a 220 ms sort of the whole table to an index scan). The expressions are
frozen here as they were written; if the order changes, a new migration must rebuild the index, or
PostgreSQL stops using it."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('incidents', '0013_state_invariants'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='incident',
            index=models.Index(models.Case(models.When(models.Q(models.Q(('first_response_at__isnull', True), ('response_due_at__isnull', False), ('state__in', ('logged', 'classified'))), models.Q(('resolution_due_at__isnull', False), ('resolved_at__isnull', True), ('state__in', ('logged', 'classified', 'investigating'))), _connector='OR'), then=models.Value(0)), models.When(state__in=('on_hold',), then=models.Value(2)), models.When(state__in=('logged', 'classified', 'investigating', 'on_hold'), then=models.Value(1)), default=models.Value(3), output_field=models.IntegerField()), models.Case(models.When(models.Q(('first_response_at__isnull', True), ('response_due_at__isnull', False), ('state__in', ('logged', 'classified'))), then=models.F('response_due_at')), models.When(models.Q(('resolution_due_at__isnull', False), ('resolved_at__isnull', True), ('state__in', ('logged', 'classified', 'investigating'))), then=models.F('resolution_due_at')), default=None, output_field=models.DateTimeField()), models.F('created_at'), models.F('id'), name='incident_work_order'),
        ),
    ]
