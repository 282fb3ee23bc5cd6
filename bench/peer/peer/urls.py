# SPDX-License-Identifier: Apache-2.0
"""Routes of the benchmark peer: start and stop, with and without the slash."""
from django.urls import re_path

from peer.views import StartView, StopView

urlpatterns = [
    re_path(r"^stream/start/?$", StartView.as_view()),
    re_path(r"^stream/stop/?$", StopView.as_view()),
]
