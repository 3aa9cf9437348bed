"""The daily digest's rules: the day a run counts as (Dutch time, from the configured hour) and the
Dutch text with the number only."""
from __future__ import annotations

from datetime import UTC, date, datetime

from services.notification.domain.digest import body, due_day, subject


def test_the_digest_is_due_from_the_hour_in_dutch_time():
    assert due_day(datetime(2026, 1, 15, 5, 59, tzinfo=UTC), 7) is None  # 06:59 in winter (CET)
    assert due_day(datetime(2026, 1, 15, 6, 0, tzinfo=UTC), 7) == date(2026, 1, 15)
    assert due_day(datetime(2026, 7, 15, 4, 59, tzinfo=UTC), 7) is None  # 06:59 in summer (CEST)
    assert due_day(datetime(2026, 7, 15, 5, 0, tzinfo=UTC), 7) == date(2026, 7, 15)
    assert due_day(datetime(2026, 7, 15, 21, 59, tzinfo=UTC), 7) == date(2026, 7, 15)  # 23:59 in NL
    assert due_day(datetime(2026, 7, 15, 22, 30, tzinfo=UTC), 7) is None, "after midnight in NL: a new day"
    assert due_day(datetime(2026, 7, 15, 22, 30, tzinfo=UTC), 0) == date(2026, 7, 16)


def test_one_and_many_in_dutch():
    assert subject(1, "MBO Utrecht") == "1 nieuw doorstroomdossier voor MBO Utrecht"
    assert subject(3, None) == "3 nieuwe doorstroomdossiers"
    text = body(name="Anna", count=3, institution=None, inbox_url="https://x/mbo", preferences_url="https://x/p")
    assert text.startswith("Beste Anna,") and "zijn er 3 nieuwe afgeronde doorstroomdossiers binnengekomen" in text
    assert "https://x/mbo" in text and "'Dagelijks overzicht per e-mail'" in text and "https://x/p" in text
