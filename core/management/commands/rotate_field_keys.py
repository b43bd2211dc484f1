"""Re-encrypt every stored secret under the first key of FIELD_ENCRYPTION_KEYS."""

from django.core.management.base import BaseCommand
from django.db import connection, transaction

from core import crypto
from core.fields import encrypted_fields


class Command(BaseCommand):
    help = "Re-encrypt all encrypted fields with the primary key (put the new key first, run this, drop the old)."

    def handle(self, *args, **options):
        crypto.reset_keys()
        total = 0
        for model, names in encrypted_fields():
            table = connection.ops.quote_name(model._meta.db_table)
            pk = model._meta.pk.column
            columns = [model._meta.get_field(name).column for name in names]
            with transaction.atomic():
                rows = model.objects.select_for_update().values_list("pk", flat=True)
                for row_pk in rows.iterator():
                    with connection.cursor() as cursor:
                        select_list = ", ".join(connection.ops.quote_name(c) for c in columns)
                        cursor.execute(f"SELECT {select_list} FROM {table} WHERE {connection.ops.quote_name(pk)} = %s",
                                       [row_pk])
                        tokens = cursor.fetchone()
                        rotated = [crypto.rotate(t) if t else t for t in tokens]
                        assignments = ", ".join(f"{connection.ops.quote_name(c)} = %s" for c in columns)
                        cursor.execute(f"UPDATE {table} SET {assignments} WHERE {connection.ops.quote_name(pk)} = %s",
                                       [*rotated, row_pk])
                    total += 1
            self.stdout.write(f"{model._meta.label}: {', '.join(names)} re-encrypted")
        self.stdout.write(f"{total} rows re-encrypted under the primary key.")
