"""Unit tests of the dossier's pure helpers: parent links, names, step progress."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from services.dossier.domain import parent_links
from services.dossier.domain.names import (
    fold,
    full_name,
    search_name,
    search_words,
    sort_name,
)
from services.dossier.domain.progress import (
    STATE_RANK,
    Progress,
    furthest_key,
    step_progress,
)
from shared.forms.model import get_form, section_progress
from tests.support.answers import GUIDANCE, PART_A

SECRET = b"s" * 32
NOW = datetime(2027, 3, 1, 12, tzinfo=UTC)


def test_a_link_verifies_to_its_id_and_expiry():
    link_id = uuid.uuid4()
    token = parent_links.sign(SECRET, link_id, NOW + timedelta(days=14))
    link = parent_links.verify(SECRET, token, now=NOW)
    assert link.link_id == link_id and link.expires_at == NOW + timedelta(days=14)
    assert len(token) < 100 and "=" not in token, "short and URL-safe"


@pytest.mark.parametrize("mutate", [
    lambda t: t[:-5] + ("A" if t[-5] != "A" else "B") + t[-4:],  # the mac (a whole-6-bit character:
    # the last base64 character also carries padding bits, so changing it may not change the mac)
    lambda t: ("A" if t[0] != "A" else "B") + t[1:],            # the payload (id)
    lambda t: t.split(".")[0] + "." + t.split(".")[0],          # payload as mac
    lambda t: t.replace(".", ""), lambda t: t + ".x", lambda t: "", lambda t: "é.é", lambda t: "a" * 300 + ".b",
])
def test_a_tampered_or_malformed_link_is_invalid(mutate):
    token = parent_links.sign(SECRET, uuid.uuid4(), NOW + timedelta(days=1))
    with pytest.raises(parent_links.InvalidLink):
        parent_links.verify(SECRET, mutate(token), now=NOW)


def test_a_link_of_another_key_is_invalid_and_a_late_one_expired():
    token = parent_links.sign(SECRET, uuid.uuid4(), NOW + timedelta(days=1))
    with pytest.raises(parent_links.InvalidLink):
        parent_links.verify(b"t" * 32, token, now=NOW)
    with pytest.raises(parent_links.ExpiredLink):
        parent_links.verify(SECRET, token, now=NOW + timedelta(days=1))
    # a later expiry cannot be written into a token: the mac covers it
    head, mac = token.split(".")
    raw = parent_links._unb64(head)
    longer = parent_links._b64(raw[:16] + int((NOW + timedelta(days=99)).timestamp()).to_bytes(8, "big"))
    with pytest.raises(parent_links.InvalidLink):
        parent_links.verify(SECRET, f"{longer}.{mac}", now=NOW)


def test_names():
    assert full_name("Roos", "de", "Winter") == "Roos de Winter"
    assert full_name("Jaap", "", "Rierink") == "Jaap Rierink"
    assert fold("  Zoë   ÇELİK ") == "zoe celik"
    assert sort_name("Roos", "de", "Winter") == "winter roos de"
    assert sort_name("Zoë", "", "Ëlberg") < sort_name("Jaap", "", "Rierink")
    assert all(w in search_name("Roos", "Rosalie Anna", "de", "Winter") for w in search_words("WINTER rosalie"))
    assert search_words("a b c d e f g") == ["a", "b", "c", "d", "e"]


def test_step_progress_and_furthest():
    part_a, part_b = get_form("part_a", "2026-2027"), get_form("part_b", "2026-2027")
    assert step_progress("part_a", part_a, part_b, {}) == 0
    assert 0 < step_progress("part_a", part_a, part_b, {"motivation": {"motivation": "x", "expectations": "y"}}) < 100
    guidance = {f.id: False for f in part_b.section("guidance").fields if f.required}
    assert step_progress("part_b", part_a, part_b, {"guidance": guidance}) < 100
    assert step_progress("agreement", part_a, part_b, {}) == 0 and step_progress("completed", part_a, part_b, {}) == 100
    ranked = sorted(STATE_RANK, key=lambda s: furthest_key(s, 0))
    assert ranked == ["part_a", "part_b", "agreement", "completed"]
    assert furthest_key("part_b", 10) > furthest_key("part_a", 100)


def test_progress_counts_each_section_once_and_agrees_with_the_form_rules() -> None:
    """``Progress`` (a dossier view's figures, each section validated once) gives what
    section_progress and step_progress give, for empty, partial and complete answers."""
    part_a, part_b = get_form("part_a", "2026-2027"), get_form("part_b", "2026-2027")
    half = {k: v for i, (k, v) in enumerate(PART_A.items()) if i % 2 == 0}
    partial_section = {k: dict(list(v.items())[:1]) for k, v in PART_A.items()}
    for answers in ({}, half, partial_section, {**PART_A, "guidance": GUIDANCE}):
        counted = Progress(part_a, part_b, answers)
        for form in (part_a, part_b):
            for section in form.sections:
                assert counted.section(form, section.id) == section_progress(form, section.id,
                                                                             answers.get(section.id, {}))
        for state in ("part_a", "part_b", "agreement", "completed"):
            assert counted.step(state) == step_progress(state, part_a, part_b, answers)
