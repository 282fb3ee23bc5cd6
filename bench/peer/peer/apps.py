# SPDX-License-Identifier: Apache-2.0
"""App config of the benchmark peer: puts every SQLite connection in WAL
with synchronous=FULL, the durability broadcast's sqlite store gives."""
from django.apps import AppConfig
from django.db.backends.signals import connection_created


def _pragmas(sender, connection, **kwargs):
    if connection.vendor == "sqlite":
        with connection.cursor() as c:
            c.execute("PRAGMA journal_mode = WAL")
            c.execute("PRAGMA synchronous = FULL")


class PeerConfig(AppConfig):
    name = "peer"
    default_auto_field = "django.db.models.AutoField"

    def ready(self):
        connection_created.connect(_pragmas)
