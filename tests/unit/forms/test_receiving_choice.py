"""The follow-up choice of part A for a receiving school of any kind, and a school typed in
(issue 11, item 5); the portal's select values for them."""
from __future__ import annotations

import pytest

from services.portal.formview import Catalogue, choice_label, decode_programme
from shared.forms.model import InvalidValue, clean_programme


def test_a_school_not_in_the_list_is_cleaned_to_name_and_place() -> None:
    assert clean_programme({"kind": "havo", "school_name": "  Het   Stedelijk ", "school_city": "Zutphen"}) == {
        "kind": "havo", "school_name": "Het Stedelijk", "school_city": "Zutphen"}
    assert clean_programme({"kind": "vmbo", "school_name": "De Waerdenborch", "school_city": ""}) == {
        "kind": "vmbo", "school_name": "De Waerdenborch"}


@pytest.mark.parametrize("value, message", [
    ({"kind": "havo", "school_name": ""}, "Vul de naam van de school in."),
    ({"kind": "havo", "school_name": "X"}, "De naam van de school is te kort."),
    ({"kind": "havo", "school_name": "S" * 201}, "De naam van de school is te lang: hoogstens 200 tekens."),
    ({"kind": "havo", "school_name": "Lyceum", "school_city": "Z" * 101}, "hoogstens 100 tekens"),
    ({"kind": "havo", "school_name": "Lyc\x00eum"}, "stuurtekens"),
    ({"kind": "havo", "school_name": 12}, "Vul de naam van de school in."),
    ({"kind": "mbo", "school_name": "ROC", "institution_id": "x"}, "niet allebei"),
    ({"kind": "hbo", "school_name": "Saxion"}, "Kies een mbo-opleiding of een vervolgkeuze voor havo of vmbo."),
])
def test_a_bad_school_not_in_the_list_is_named(value, message) -> None:
    with pytest.raises(InvalidValue, match=message.replace("(", r"\(").replace(")", r"\)")):
        clean_programme(value)


INSTITUTIONS = [
    {"school_id": "h1", "kind": "havo", "name": "Stedelijk Lyceum", "city": "Enschede", "participates": True,
     "programmes": [{"programme_id": "p1", "name": "HAVO 4", "profile": "Natuur en Gezondheid"}]},
    {"school_id": "v1", "kind": "vmbo", "name": "Het Assink", "city": None, "participates": False, "programmes": []},
]


def test_the_catalogue_offers_havo_profiles_and_marks_who_does_not_take_part() -> None:
    catalogue = Catalogue.from_institutions(INSTITUTIONS)
    groups = dict(catalogue.groups())
    assert groups["Stedelijk Lyceum (Enschede) – havo"] == [
        ("havo:h1", "HAVO – Stedelijk Lyceum (geen profiel of leerweg gekozen)"),
        ("havo:h1:p1", "HAVO 4 – Natuur en Gezondheid")]
    assert "Het Assink – vmbo (neemt niet deel aan Doorstroom)" in groups
    assert decode_programme("havo:h1:p1") == {"kind": "havo", "institution_id": "h1", "programme_id": "p1"}
    assert catalogue.encode({"kind": "havo", "institution_id": "h1", "programme_id": "p1"}) == "havo:h1:p1"
    typed = decode_programme("anders", {"f__name": "Het Stedelijk", "f__city": "Zutphen", "f__kind": "havo"}, "f")
    assert typed == {"kind": "havo", "school_name": "Het Stedelijk", "school_city": "Zutphen"}
    assert catalogue.encode(typed) == "anders"
    assert catalogue.label(typed) == "HAVO – Het Stedelijk (Zutphen), niet in de lijst"
    assert choice_label({"kind": "havo", "other_school": True, "institution_name": "Het Stedelijk",
                         "institution_city": "Zutphen"}) == "HAVO – Het Stedelijk (Zutphen)"
    assert choice_label({"kind": "havo", "institution_name": "Stedelijk Lyceum", "programme_name": "HAVO 4",
                         "profile": "Natuur en Gezondheid"}) == "HAVO 4 – Natuur en Gezondheid – Stedelijk Lyceum"
