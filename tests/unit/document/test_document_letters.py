"""Activation letters: print order, one page per letter with the right name, class and code, the
manual's steps with the code filled in, a QR code, embedded fonts, and text that stays text."""
from __future__ import annotations

import io
import re
from datetime import date
from pathlib import Path

from pypdf import PdfReader

from services.document.rendering.letters import content_hash, print_order, render_letters

URL = "https://doorstroom.example.nl/registreren"


def _letter(name: str, sort_name: str, class_name: str, code: str, n: int = 0) -> dict:
    return {"student_id": f"00000000-0000-0000-0000-{n:012d}", "student_name": name, "sort_name": sort_name,
            "class_name": class_name, "code": code}


LETTERS = [
    _letter("Zoë van der Müller", "Müller, Zoë van der", "4b", "ZZZZ-0001", 1),
    _letter("Lieke Ĳzerman", "Ĳzerman, Lieke", "4a", "AAAA-0002", 2),
    _letter("François Çelik", "Çelik, François", "4a", "AAAA-0003", 3),
    _letter("Noor de Vries", "Vries, Noor de", "10a", "TTTT-0004", 4),
    _letter("Anouk Bakker", "Bakker, Anouk", "4a", "AAAA-0005", 5),
]


def _render(letters, **kw) -> bytes:
    args = dict(school_name="Het Ĳsselcollege", register_url=URL, expires_on=date(2027, 1, 31),
                printed_on=date(2026, 11, 29))
    args.update(kw)
    return render_letters(letters=letters, **args)


def _pages(pdf: bytes) -> list[str]:
    return [p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages]


def test_print_order_is_class_in_natural_order_then_name_ignoring_accents():
    ordered = [l["student_name"] for l in print_order(LETTERS)]
    assert ordered == ["Anouk Bakker", "François Çelik", "Lieke Ĳzerman", "Zoë van der Müller", "Noor de Vries"]


def test_one_page_per_letter_with_the_right_name_class_and_code_in_order():
    ordered = print_order(LETTERS)
    pages = _pages(_render(ordered))
    assert len(pages) == len(LETTERS)
    for page, letter in zip(pages, ordered):
        assert "Het Ĳsselcollege" in page
        assert letter["student_name"] in page  # é, ë, ï, ĳ, ç read back as written
        assert f"Klas {letter['class_name']}" in page
        assert page.count(letter["code"]) >= 2  # in the box and in step 6
        others = [l["code"] for l in LETTERS if l is not letter]
        assert not any(code in page for code in others)


def test_letter_has_the_manuals_steps_one_to_seven_with_the_code_and_the_expiry():
    [page] = _pages(_render([LETTERS[0]]))
    text = re.sub(r"\s+", " ", page)
    steps = [f"1. Ga naar de pagina ‘Maak een nieuw account’ (of scan de QR-code): {URL}",
             "2. Vul je BSN en e-mailadres in en klik op ‘Account maken’.",
             "3. Ga naar je e-mail en klik op de link die we je hebben gestuurd.",
             "4. Verzin een wachtwoord dat aan de eisen voldoet (en onthoud het goed) en klik op ‘Account activeren’.",
             "5. Log in met je e-mailadres en wachtwoord (‘Inloggen’) en klik op ‘Nieuw dossier’.",
             "6. Vul de volgende activatiecode in: ZZZZ-0001",
             "7. Klik op de knop ‘Nieuw dossier’ om je Digitaal Doorstroomdossier te starten."]
    positions = [text.find(step) for step in steps]
    assert all(p >= 0 for p in positions), [s for s, p in zip(steps, positions) if p < 0]
    assert positions == sorted(positions)
    assert "geldig tot en met 31-01-2027" in text
    assert "vlak" not in text, "the portal has no tile to click"


def test_every_name_the_letters_steps_quote_is_a_page_or_button_of_the_portal():
    """The letter leads through the portal's pages: 'Maak een nieuw account' is the heading of the
    page at the letter's address, the other quoted names are its buttons and links (the mail's steps
    are walked in a real browser in tests/browser/test_students_dossiers.py)."""
    [page] = _pages(_render([LETTERS[0]]))
    text = re.sub(r"\s+", " ", page)
    steps = text[text.find("1. Ga naar"):text.find("De code is geldig")]
    quoted = re.findall(r"‘([^’]+)’", steps)
    assert quoted == ["Maak een nieuw account", "Account maken", "Account activeren", "Inloggen", "Nieuw dossier",
                      "Nieuw dossier"]
    portal = Path(__file__).resolve().parents[3] / "services" / "portal"
    sources = "".join(f.read_text(encoding="utf-8") for f in [*portal.glob("templates/*.html"),
                                                                 *portal.glob("views/*.py")])
    assert "<h1>Maak een nieuw account</h1>" in sources
    for name in quoted[1:]:
        assert re.search(rf">{re.escape(name)}</(button|a)>|\"{re.escape(name)}\"", sources), name


def test_letter_has_a_qr_code_image_embedded_fonts_and_tags():
    pdf = _render([LETTERS[0]])
    reader = PdfReader(io.BytesIO(pdf))
    page = reader.pages[0]
    assert "/StructTreeRoot" in reader.trailer["/Root"], "tagged PDF"
    figures = [alt for tag, alt in _structure(reader.trailer["/Root"]["/StructTreeRoot"]) if tag == "/Figure"]
    assert figures == [f"QR-code met het adres waar je een account maakt: {URL}"]
    fonts = page["/Resources"]["/Font"]
    for ref in fonts.values():
        font = ref.get_object()
        descriptor = (font["/DescendantFonts"][0].get_object() if "/DescendantFonts" in font else font)["/FontDescriptor"]
        assert any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3")), "fonts are embedded"


def _structure(node) -> list[tuple[str, str | None]]:
    """(tag, alt text) of every element of a PDF structure tree."""
    node = node.get_object()
    found = []
    if isinstance(node, dict):
        if "/S" in node:
            found.append((str(node["/S"]), node.get("/Alt")))
        kids = node.get("/K")
        for kid in (kids if isinstance(kids, list) else [kids]) if kids is not None else []:
            found += _structure(kid)
    return found


def test_markup_in_names_is_printed_as_written_and_changes_nothing():
    evil = _letter("#set page(width: 5cm) *vet* _schuin_ $x^2$ \\ ] [ <l> @ref // nee", "A", "4a", "EVIL-0001")
    pdf = _render([evil, LETTERS[1]], school_name='#pagebreak() "School" \\')
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 2
    assert round(float(reader.pages[0].mediabox.width)) == 595  # still A4
    text = reader.pages[0].extract_text()
    assert "#set page(width: 5cm) *vet* _schuin_ $x^2$ \\ ] [ <l> @ref // nee" in text
    assert '#pagebreak() "School" \\' in text


def test_content_hash_follows_the_content():
    base = content_hash(school_name="S", register_url=URL, expires_on=date(2027, 1, 31), letters=LETTERS)
    same = content_hash(school_name="S", register_url=URL, expires_on=date(2027, 1, 31), letters=[dict(l) for l in LETTERS])
    other_code = [dict(l) for l in LETTERS]
    other_code[0]["code"] = "ZZZZ-9999"
    assert base == same
    assert base != content_hash(school_name="S", register_url=URL, expires_on=date(2027, 1, 31), letters=other_code)
    assert base != content_hash(school_name="S", register_url=URL, expires_on=date(2027, 2, 1), letters=LETTERS)
