# SPDX-License-Identifier: Apache-2.0
"""Django settings of the benchmark peer (bench/peer/peer/__init__.py).

Everything comes from the environment bench/run sets: PEER_DB (the SQLite
file), PEER_STS_ENDPOINT (the STS double's URL), PEER_BUCKET.
"""
import os

SECRET_KEY = "bench-peer-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["*"]
USE_TZ = True
TIME_ZONE = "UTC"
ROOT_URLCONF = "peer.urls"
INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth", "rest_framework", "peer"]
# No middleware: the cheapest Django can be while still being Django.
MIDDLEWARE = []
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("PEER_DB", "/tmp/peer.db"),
        "OPTIONS": {"timeout": 20},
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.FormParser",
                               "rest_framework.parsers.JSONParser"],
    "UNAUTHENTICATED_USER": None,
}
STS_ENDPOINT = os.environ.get("PEER_STS_ENDPOINT", "http://127.0.0.1:9000/")
STS_REGION = "us-west-1"
S3_BUCKET = os.environ.get("PEER_BUCKET", "bench-bucket")
AWS_ACCESS_KEY = os.environ.get("DJ_BROADCAST_AWS_ACCESS_KEY", "AKIDBENCH")
AWS_ACCESS_SECRET = os.environ.get("DJ_BROADCAST_AWS_ACCESS_SECRET", "bench-secret")
