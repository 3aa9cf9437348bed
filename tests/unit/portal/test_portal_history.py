"""The history page's lines: consecutive section saves by one person are one line with a count and
the time span; anything else, or another person in between, starts a new line."""
from __future__ import annotations

from services.portal.history import grouped


def _entry(action: str, at: str, by: str = "Roos de Winter", role: str = "student") -> dict:
    return {"action": action, "at": at, "by": by, "by_role": role, "label": action}


def test_consecutive_saves_by_one_person_become_one_line_with_count_and_span():
    entries = [_entry("created", "2026-11-02T09:00:00+00:00"),
               *[_entry("part_a_saved", f"2026-11-02T09:{m:02d}:00+00:00") for m in (1, 5, 9, 30)],
               _entry("part_a_submitted", "2026-11-02T09:31:00+00:00"),
               _entry("part_b_saved", "2026-11-03T10:00:00+00:00", "Karin Jansen", "mentor"),
               _entry("part_b_saved", "2026-11-04T11:00:00+00:00", "Karin Jansen", "mentor")]
    lines = grouped(entries)
    assert [(x["action"], x["count"]) for x in lines] == [
        ("created", 1), ("part_a_saved", 4), ("part_a_submitted", 1), ("part_b_saved", 2)]
    saves = lines[1]
    assert saves["first_at"] == "2026-11-02T09:01:00+00:00" and saves["last_at"] == "2026-11-02T09:30:00+00:00"
    assert lines[3]["first_at"].startswith("2026-11-03") and lines[3]["last_at"].startswith("2026-11-04")
    assert lines[0]["first_at"] == lines[0]["last_at"] == "2026-11-02T09:00:00+00:00"


def test_another_person_or_another_action_in_between_starts_a_new_line():
    entries = [_entry("part_b_saved", "2026-11-03T10:00:00+00:00", "Karin Jansen", "mentor"),
               _entry("part_b_saved", "2026-11-03T10:05:00+00:00", "Fatima El Idrissi", "counsellor"),
               _entry("part_b_saved", "2026-11-03T10:06:00+00:00", "Karin Jansen", "mentor"),
               _entry("reminder_sent", "2026-11-05T08:00:00+00:00", None, "system"),
               _entry("reminder_sent", "2026-11-06T08:00:00+00:00", None, "system"),
               _entry("agreement_saved", "2026-11-07T08:00:00+00:00"),
               _entry("agreement_saved", "2026-11-07T08:10:00+00:00")]
    lines = grouped(entries)
    assert [(x["action"], x["by"], x["count"]) for x in lines] == [
        ("part_b_saved", "Karin Jansen", 1), ("part_b_saved", "Fatima El Idrissi", 1),
        ("part_b_saved", "Karin Jansen", 1),
        ("reminder_sent", None, 1), ("reminder_sent", None, 1),  # only saves are taken together
        ("agreement_saved", "Roos de Winter", 2)]
    assert grouped([]) == []
