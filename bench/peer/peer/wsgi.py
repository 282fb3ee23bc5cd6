# SPDX-License-Identifier: Apache-2.0
"""WSGI entry of the benchmark peer, for gunicorn (peer.wsgi:application)."""
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "peer.settings")
application = get_wsgi_application()
