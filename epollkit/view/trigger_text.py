"""Notebook 02's NOT LIVE fallback: the recorded trigger-mode replay, and the line that says so."""

from __future__ import annotations

from .. import data


def recorded_seen(name: str = "epoll_primer") -> dict:
    """What each trigger mode saw in the recorded replay ``data/reference/<name>.json`` (the first
    result's ``seen``); prints the NOT LIVE line naming where and when it was recorded."""
    seen = data.load(name)["results"][0]["seen"]
    print("NOT LIVE:", data.describe(name))
    return seen
