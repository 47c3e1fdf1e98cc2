"""On PostgreSQL the database itself refuses UPDATE and DELETE of ledger entries (append-only).

SQLite (development default) gets nothing: the services never update or delete entries anyway.
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION loyalty_ledger_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'loyalty_ledgerentry is append-only: % refused', TG_OP;
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS loyalty_ledger_append_only ON loyalty_ledgerentry;
CREATE TRIGGER loyalty_ledger_append_only BEFORE UPDATE OR DELETE ON loyalty_ledgerentry
    FOR EACH ROW EXECUTE FUNCTION loyalty_ledger_append_only();
"""

DROP = """
DROP TRIGGER IF EXISTS loyalty_ledger_append_only ON loyalty_ledgerentry;
DROP FUNCTION IF EXISTS loyalty_ledger_append_only();
"""


def create_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)  # None: the % in RAISE is not a placeholder


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("loyalty", "0002_lots_pending_tier_points")]

    operations = [migrations.RunPython(create_trigger, drop_trigger)]
