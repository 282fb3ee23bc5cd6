# SPDX-License-Identifier: Apache-2.0
"""The Stream model of django-broadcast, reduced to what start and stop use."""
import uuid

from django.db import models


class Stream(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=255, blank=True, default="")
    type = models.CharField(max_length=16, default="hls")
    owner = models.CharField(max_length=150)
    start_date = models.DateTimeField(auto_now_add=True)
    stop_date = models.DateTimeField(null=True)
    is_live = models.BooleanField(default=True)
