# SPDX-License-Identifier: Apache-2.0
"""peer: the benchmark's reference implementation of the stream API.

django-broadcast as it was used: Django 3.2 + Django REST Framework, one
Stream model in SQLite, STS GetFederationToken through boto3. Minimal and
fair: no middleware, no auth lookups, one boto3 client per worker process,
WAL with synchronous=FULL like broadcast's sqlite store. bench/run serves it
with gunicorn (workers = cores).
"""
