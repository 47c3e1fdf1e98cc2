"""Two foreign-key indexes that composite indexes already start with (ledger_once_per_source and
ledger_account_newest; lot_account_fifo), and a full index on available_at that no query used (the release
job reads lot_pending_due): three indexes fewer to write per point earned.

The foreign keys' indexes are dropped by name in SQL: Django's AlterField would also drop and re-add the
foreign-key constraints, re-validating the whole ledger under lock.
"""

import django.db.models.deletion
from django.db import migrations, models

# (table, index) as Django named them for the foreign keys (the same name on every backend).
FK_INDEXES = [("loyalty_ledgerentry", "loyalty_ledgerentry_account_id_8499fa61"),
              ("loyalty_pointlot", "loyalty_pointlot_account_id_0388c3f1")]


class Migration(migrations.Migration):

    dependencies = [
        ("loyalty", "0005_earn_queued_schedule"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="pointlot", name="lot_available"),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="ledgerentry", name="account",
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT,
                                            related_name="entries", to="loyalty.loyaltyaccount"),
                ),
                migrations.AlterField(
                    model_name="pointlot", name="account",
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE,
                                            related_name="lots", to="loyalty.loyaltyaccount"),
                ),
            ],
            database_operations=[
                migrations.RunSQL(f'DROP INDEX IF EXISTS "{index}"',
                                  f'CREATE INDEX IF NOT EXISTS "{index}" ON "{table}" ("account_id")')
                for table, index in FK_INDEXES
            ],
        ),
    ]
