"""Pure rules of a school year's life cycle in identity: the optional parent columns of the roster
CSV, and what a new school year does to each class and to who stays behind."""
from __future__ import annotations

import uuid
from datetime import date

from services.identity.domain.roster_csv import parse_roster
from services.identity.domain.school_year import (ClassNow, allowed_from, moved_name, name_conflicts, new_class_name,
                                                  next_school_year, plan_classes, stay_behind_class)

HEADER = "Leerlingnummer;Roepnaam;Achternaam;Geboortedatum;Klas;Leerjaar;E-mail"


def parse(header: str, *lines: str):
    return parse_roster(("\n".join([header, *lines]) + "\n").encode())


def test_parent_columns_by_their_dutch_names_with_or_without_a_number():
    result = parse(HEADER + ";Naam ouder;E-mailadres ouder;Relatie ouder;Verzorger 2 naam;Verzorger 2 e-mail",
                   "1;Ada;Bos;01-01-2010;4a;4;ada@x.nl;Eva Bos;Eva@Bos.nl;moeder;Piet Bos;piet@bos.nl",
                   "2;Bo;Mol;01-01-2010;4a;4;;;;;;")
    assert result.errors == []
    first, second = result.rows
    assert first.parents == ({"name": "Eva Bos", "email": "eva@bos.nl", "relation": "moeder"},
                             {"name": "Piet Bos", "email": "piet@bos.nl", "relation": None})
    assert second.parents == ()  # the columns are there, empty: no parents known
    assert parse(HEADER, "1;Ada;Bos;01-01-2010;4a;4;").rows[0].parents is None  # no columns: keep what is known


def test_a_parent_needs_a_valid_address_of_their_own():
    result = parse(HEADER + ";Ouder 1 naam;Ouder 1 e-mail;Ouder 1 relatie;Ouder 2 e-mail",
                   "1;Ada;Bos;01-01-2010;4a;4;;Eva Bos;;moeder;",
                   "2;Bo;Mol;01-01-2010;4a;4;bo@x.nl;;bo@x.nl;;",
                   "3;Cas;Kok;01-01-2010;4a;4;;;geen-adres;;",
                   "4;Dirk;Ven;01-01-2010;4a;4;;;;" + "x" * 51 + ";")
    assert [(e.line, e.field) for e in result.errors] == [(2, "Ouder 1 e-mail"), (3, "Ouder 1 e-mail"),
                                                         (4, "Ouder 1 e-mail"), (5, "Ouder 1 relatie")]
    assert "leerling zelf" in result.errors[1].reason
    assert not result.rows


def test_a_same_parent_twice_is_one_parent():
    result = parse(HEADER + ";Ouder 1 e-mail;Ouder 2 e-mail", "1;Ada;Bos;01-01-2010;4a;4;;a@b.nl;A@B.nl")
    assert result.rows[0].parents == ({"name": None, "email": "a@b.nl", "relation": None},)


def test_classes_move_up_with_their_leerjaar_in_the_name_and_the_last_year_ends():
    assert (moved_name("3a", 3), moved_name("3 kader", 3), moved_name("Kanjers", 3), moved_name("33", 3)) == \
        ("4a", "4 kader", "Kanjers", "33")
    assert moved_name("1b", 2) == "1b"  # a name that does not start with its leerjaar keeps it
    ids = [uuid.uuid4() for _ in range(4)]
    steps = plan_classes([ClassNow(ids[0], "3a", 3, 20), ClassNow(ids[1], "4a", 4, 18),
                          ClassNow(ids[2], "2a", 2, 25), ClassNow(ids[3], "Kanjers", 3, 10)], 4, "2025-2026")
    by = {s.name: s for s in steps}
    assert [s.name for s in steps] == ["4a", "3a", "Kanjers", "2a"]  # highest leerjaar first
    assert (by["4a"].ends, by["4a"].to_name) == (True, "4a (2025-2026)")
    assert (by["3a"].to_name, by["3a"].to_leerjaar, by["2a"].to_name) == ("4a", 4, "3a")
    assert name_conflicts(steps) == []
    # who stays behind goes to the class that has their class's name and leerjaar now, or a new one
    assert stay_behind_class(steps, "4a", 4) == ids[0] and stay_behind_class(steps, "3a", 3) == ids[2]
    assert stay_behind_class(steps, "2a", 2) is None and new_class_name(steps, "2a", 2) == "2a"
    assert new_class_name(steps, "Kanjers", 3) == "Kanjers (leerjaar 3)"
    assert name_conflicts(plan_classes([ClassNow(ids[0], "3a", 3, 1), ClassNow(ids[1], "4a", 3, 1)], 4,
                                       "2025-2026")) == ["4a"]


def test_a_school_year_follows_the_last_and_starts_from_june():
    assert next_school_year("2025-2026") == "2026-2027"
    assert allowed_from("2026-2027") == date(2026, 6, 1)
