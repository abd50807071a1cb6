# The unmanaged Fleet model's state, so that `makemigrations --check` stays clean in a project using
# the app. It creates no table: `migrate` only records it.
from __future__ import annotations

from typing import ClassVar

from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True
    dependencies: ClassVar[list[tuple[str, str]]] = []

    operations: ClassVar[list[migrations.operations.base.Operation]] = [
        migrations.CreateModel(
            name="Fleet",
            fields=[("id", models.AutoField(primary_key=True, serialize=False))],
            options={
                "verbose_name": "fleet",
                "verbose_name_plural": "fleet",
                "managed": False,
                "default_permissions": (),
            },
        ),
    ]
