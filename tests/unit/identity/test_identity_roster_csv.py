from datetime import date

import pytest

from services.identity.domain.roster_csv import FILE, LINE, RosterError, parse_roster
from shared.text import SINGLE_LINE_MESSAGE

HEADER = "Leerlingnummer;Roepnaam;Voornamen;Tussenvoegsel;Achternaam;Geboortedatum;Klas;Leerjaar;E-mail;BSN;Mentor"


def csv_bytes(*lines: str, header: str = HEADER, encoding: str = "utf-8", sep: str = ";") -> bytes:
    text = "\r\n".join([header.replace(";", sep), *lines]) + "\r\n"
    return text.encode(encoding)


def only_error(result) -> RosterError:
    assert len(result.errors) == 1, result.errors
    return result.errors[0]


# --- happy paths ---------------------------------------------------------------------------


def test_semicolon_file_parses_every_field():
    data = csv_bytes(
        "1001; Zoë ;Zoë Anna;van;Dijk;01-02-2010;4A;4;Zoe@Example.nl;1112.22.333;mentor@school.nl",
        "1002;Jan;Jan;;Bakker;2010-5-3;4B;3;;;",
    )
    result = parse_roster(data)
    assert result.errors == []
    assert result.ok
    assert result.delimiter == ";"
    first, second = result.rows
    assert first.line == 2
    assert first.student_number == "1001"
    assert first.roepnaam == "Zoë"  # whitespace stripped
    assert first.voornamen == "Zoë Anna"
    assert first.tussenvoegsel == "van"
    assert first.achternaam == "Dijk"
    assert first.date_of_birth == date(2010, 2, 1)
    assert first.class_name == "4A"
    assert first.school_year == 4
    assert first.email == "zoe@example.nl"
    assert first.bsn == "111222333"
    assert first.mentor_emails == ("mentor@school.nl",)
    assert second.line == 3
    assert (second.tussenvoegsel, second.email, second.bsn, second.mentor_emails) == ("", None, None, ())
    assert second.date_of_birth == date(2010, 5, 3)


def test_comma_file_with_quoted_multi_mentor_field():
    data = csv_bytes(
        '1001,Sam,,,Smit,1-2-2010,4A,4,,,"a@school.nl, b@school.nl"',
        '1002,Kim,,,Klaas,01/02/2010,4A,4,,,"a@school.nl,b@school.nl,A@school.nl"',
        sep=",",
    )
    result = parse_roster(data)
    assert result.errors == []
    assert result.delimiter == ","
    assert result.rows[0].mentor_emails == ("a@school.nl", "b@school.nl")
    assert result.rows[1].mentor_emails == ("a@school.nl", "b@school.nl")  # deduplicated


@pytest.mark.parametrize("field", ['"a@s.nl;b@s.nl|c@s.nl"', "a@s.nl|b@s.nl,c@s.nl", '"a@s.nl ; b@s.nl , c@s.nl"'])
def test_mentor_separators_in_a_semicolon_file(field):
    result = parse_roster(csv_bytes(f"1;A;;;B;01-01-2010;4A;4;;;{field}"))
    assert result.errors == []
    assert result.rows[0].mentor_emails == ("a@s.nl", "b@s.nl", "c@s.nl")


def test_unquoted_multi_mentor_field_with_the_delimiter_gives_a_helpful_error():
    result = parse_roster(csv_bytes("1,A,,,B,01-01-2010,4A,4,,,a@s.nl,b@s.nl", sep=","))
    error = only_error(result)
    assert (error.line, error.field) == (2, LINE)
    assert "12 kolommen" in error.reason and "aanhalingstekens" in error.reason
    assert result.rows == []


def test_utf8_bom_file():
    data = "\ufeff".encode() + csv_bytes("1;Chloë;;;Ërdem;01-01-2010;4A;4;;;")
    result = parse_roster(data)
    assert result.errors == []
    assert result.encoding == "utf-8"
    assert result.rows[0].student_number == "1"  # the BOM is not part of the first header name
    assert result.rows[0].achternaam == "Ërdem"


def test_cp1252_file():
    data = csv_bytes("1;Zoë;;;Brouwér;01-01-2010;4A;4;;;", encoding="cp1252")
    assert b"\xeb" in data  # "ë" in Windows-1252
    result = parse_roster(data)
    assert result.errors == []
    assert result.encoding == "cp1252"
    assert result.rows[0].roepnaam == "Zoë"
    assert result.rows[0].achternaam == "Brouwér"


def test_header_aliases_and_case_and_order():
    header = "KLAS,stamnummer,ACHTERNAAM,roepnaam,Tussenvoegsels,geboortedatum,leerjaar,E-mailadres,Mentoren,Extra"
    data = f"{header}\n4A,77,Jansen,Piet,de,2009-12-31,4,p@x.nl,m@x.nl,genegeerd\n".encode()
    result = parse_roster(data)
    assert result.errors == []
    row = result.rows[0]
    assert (row.student_number, row.class_name, row.tussenvoegsel, row.voornamen) == ("77", "4A", "de", "")
    assert (row.email, row.mentor_emails, row.bsn) == ("p@x.nl", ("m@x.nl",), None)


def test_studentnummer_and_email_aliases():
    header = "Studentnummer;Roepnaam;Achternaam;Geboortedatum;Klas;Leerjaar;Email"
    result = parse_roster(f"{header}\n5;A;B;01-01-2010;3B;3;a@b.nl\n".encode())
    assert result.errors == []
    assert result.rows[0].email == "a@b.nl"


def test_empty_lines_and_trailing_delimiters_are_skipped():
    data = csv_bytes("", "1;A;;;B;01-01-2010;4A;4;;;;", ";;;;;;;;;;", "   ", "2;C;;;D;01-01-2010;4A;4;;;")
    result = parse_roster(data)
    assert result.errors == []
    assert [r.line for r in result.rows] == [3, 6]


def test_line_numbers_follow_multiline_quoted_fields():
    # the line break inside quotes is itself an error of its field (see "control characters" below)
    data = csv_bytes('1;A;;;"B\nC";01-01-2010;4A;4;;;', "2;C;;;D;32-01-2010;4A;4;;;")
    result = parse_roster(data)
    assert [(e.line, e.field) for e in result.errors] == [(2, "Achternaam"), (4, "Geboortedatum")]


# --- errors --------------------------------------------------------------------------------


def test_every_bad_row_and_field_is_reported_with_its_line():
    data = csv_bytes(
        "1001;Ann;;;Aa;01-01-2010;4A;4;;;",
        ";;;;;31-02-2010;;9;geen-mail;123456789;x@y.nl|fout",
        "1003;Bo;;;Bb;2010/01/01;4A;0;;12345;",
        "1004;Cas;;;Cc;01-01-2010;4A;4;;;",
    )
    result = parse_roster(data)
    assert [r.line for r in result.rows] == [2, 5]
    got = {(e.line, e.field): e.reason for e in result.errors}
    assert got == {
        (3, "Leerlingnummer"): "Leerlingnummer ontbreekt.",
        (3, "Roepnaam"): "Roepnaam ontbreekt.",
        (3, "Achternaam"): "Achternaam ontbreekt.",
        (3, "Geboortedatum"): "Geboortedatum '31-02-2010' is geen geldige datum.",
        (3, "Klas"): "Klas ontbreekt.",
        (3, "Leerjaar"): "Leerjaar '9' is geen getal van 1 tot en met 8.",
        (3, "E-mail"): "E-mailadres 'geen-mail' is geen geldig e-mailadres.",
        (3, "BSN"): "BSN klopt niet (elfproef).",
        (3, "Mentor"): "Mentor 'fout' is geen geldig e-mailadres.",
        (4, "Geboortedatum"): "Geboortedatum '2010/01/01' heeft niet de vorm dd-mm-jjjj.",
        (4, "Leerjaar"): "Leerjaar '0' is geen getal van 1 tot en met 8.",
        (4, "BSN"): "BSN moet uit 9 cijfers bestaan.",
    }
    assert [e.line for e in result.errors] == sorted(e.line for e in result.errors)
    assert not result.ok


def test_duplicate_student_numbers():
    data = csv_bytes(
        "1234;A;;;B;01-01-2010;4A;4;;;",
        "1235;A;;;B;01-01-2010;4A;4;;;",
        "1234;C;;;D;01-01-2010;4A;4;;;",
        "1234;E;;;F;01-01-2010;4A;4;;;",
    )
    result = parse_roster(data)
    assert [(e.line, e.field, e.reason) for e in result.errors] == [
        (4, "Leerlingnummer", "Leerlingnummer 1234 komt ook voor op regel 2."),
        (5, "Leerlingnummer", "Leerlingnummer 1234 komt ook voor op regel 2."),
    ]
    assert [r.line for r in result.rows] == [2, 3]


def test_missing_required_columns_is_one_error_on_line_1():
    data = b"Leerlingnummer;Roepnaam;Klas\n1;A;4A\n2;B;4B\n"
    error = only_error(parse_roster(data))
    assert (error.line, error.field) == (1, FILE)
    assert "Achternaam, Geboortedatum, Leerjaar" in error.reason


def test_duplicate_column_in_header():
    data = b"Leerlingnummer;Stamnummer;Roepnaam;Achternaam;Geboortedatum;Klas;Leerjaar\n"
    error = only_error(parse_roster(data))
    assert (error.line, error.field) == (1, "Leerlingnummer")
    assert "meer dan één keer" in error.reason


@pytest.mark.parametrize("data", [b"", b"   \r\n\r\n", "\ufeff".encode()])
def test_empty_file(data):
    error = only_error(parse_roster(data))
    assert error.reason == "Het bestand is leeg."


def test_header_only():
    error = only_error(parse_roster(csv_bytes()))
    assert error.field == FILE
    assert "geen leerlingen" in error.reason


def test_wrong_number_of_columns():
    result = parse_roster(csv_bytes("1;A;;;B;01-01-2010;4A", "2;C;;;D;01-01-2010;4A;4;;;"))
    error = only_error(result)
    assert (error.line, error.field) == (2, LINE)
    assert error.reason.startswith("Deze regel heeft 7 kolommen, maar de kopregel heeft er 11.")
    assert [r.line for r in result.rows] == [3]


def test_undecodable_bytes():
    # 0x81 is undefined in Windows-1252 and invalid UTF-8
    data = csv_bytes("1;A;;;B;01-01-2010;4A;4;;;") + b"2;\x81;;;B;01-01-2010;4A;4;;;\r\n"
    error = only_error(parse_roster(data))
    assert (error.line, error.field) == (3, FILE)
    assert "UTF-8" in error.reason


def test_utf16_file_is_refused():
    error = only_error(parse_roster(csv_bytes("1;A;;;B;01-01-2010;4A;4;;;", encoding="utf-16")))
    assert "geen CSV-bestand" in error.reason


def test_broken_quotes():
    data = csv_bytes("1;A;;;B;01-01-2010;4A;4;;;", '2;"C"x;;;D;01-01-2010;4A;4;;;')
    result = parse_roster(data)
    assert result.errors[-1].line == 3
    assert "aanhalingstekens" in result.errors[-1].reason


def test_too_many_rows():
    rows = [f"{n};A;;;B;01-01-2010;4A;4;;;" for n in range(1, 7)]
    assert parse_roster(csv_bytes(*rows), max_rows=6).errors == []
    result = parse_roster(csv_bytes(*rows, "7;A;;;B;xx;4A;4;;;"), max_rows=6)
    error = only_error(result)
    assert error.field == FILE
    assert "meer dan 6 leerlingen" in error.reason
    assert result.rows == []


@pytest.mark.parametrize(
    "value, expected",
    [("1-2-2010", date(2010, 2, 1)), ("01/02/2010", date(2010, 2, 1)), ("2010-02-01", date(2010, 2, 1)),
     ("29-02-2012", date(2012, 2, 29)), ("1.2.2010", date(2010, 2, 1))],
)
def test_date_formats(value, expected):
    result = parse_roster(csv_bytes(f"1;A;;;B;{value};4A;4;;;"))
    assert result.rows[0].date_of_birth == expected


@pytest.mark.parametrize("value", ["29-02-2011", "01-13-2010", "00-01-2010", "01-01-0210", "2010-02-30"])
def test_impossible_dates(value):
    error = only_error(parse_roster(csv_bytes(f"1;A;;;B;{value};4A;4;;;")))
    assert error.reason == f"Geboortedatum '{value}' is geen geldige datum."


def test_error_str_is_readable():
    assert str(RosterError(3, "Klas", "Klas ontbreekt.")) == "Regel 3, Klas: Klas ontbreekt."


def test_tab_separated_file():
    result = parse_roster(csv_bytes("1;A;;;B;01-01-2010;4A;4;;;a@s.nl,b@s.nl".replace(";", "\t"), sep="\t"))
    assert result.errors == []
    assert result.delimiter == "\t"
    assert result.rows[0].mentor_emails == ("a@s.nl", "b@s.nl")


# --- control characters ----------------------------------------------------------------------


def test_a_line_break_inside_a_quoted_name_is_a_row_error():
    # a roster name with a newline ended up in a mail's Subject header
    data = csv_bytes('1;"Jan\nBcc: iedereen@example.nl";;;Bakker;01-01-2010;4A;4;;;', "2;Kim;;;Klaas;01-01-2010;4A;4;;;")
    result = parse_roster(data)
    error = only_error(result)
    assert (error.line, error.field, error.reason) == (2, "Roepnaam", SINGLE_LINE_MESSAGE)
    assert [r.line for r in result.rows] == [4]  # the quoted line break made the first record two lines


@pytest.mark.parametrize("char", ["\t", "\x00", "\x0b", "\x1b", "\x7f"])
def test_a_control_character_in_any_cell_is_a_row_error_and_every_bad_row_is_listed(char):
    data = csv_bytes(f'1;A;;;"B{char}x";01-01-2010;4A;4;;;',
                     f'2;C;"C{char}D";;D;01-01-2010;"4{char}B";4;;;',
                     f'3;E;;;F;01-01-2010;4A;4;"e{char}f@example.nl";;"m{char}@example.nl"',
                     "4;G;;;H;01-01-2010;4A;4;;;")
    result = parse_roster(data)
    assert [(e.line, e.field, e.reason) for e in result.errors] == [
        (2, "Achternaam", SINGLE_LINE_MESSAGE), (3, "Voornamen", SINGLE_LINE_MESSAGE), (3, "Klas", SINGLE_LINE_MESSAGE),
        (4, "E-mail", SINGLE_LINE_MESSAGE), (4, "Mentor", SINGLE_LINE_MESSAGE)]
    assert not result.ok and [r.line for r in result.rows] == [5]


def test_line_breaks_around_a_value_are_trimmed_like_spaces():
    result = parse_roster(csv_bytes('1;" Jan\n";;;Bakker;01-01-2010;4A;4;;;'))
    assert result.errors == [] and result.rows[0].roepnaam == "Jan"


def test_a_nul_in_the_header_line_is_still_no_csv_file():
    error = only_error(parse_roster(b"PK\x03\x04\x14\x00\x06\x00binary;spreadsheet\r\n1;A;;;B;01-01-2010;4A;4;;;\r\n"))
    assert (error.line, error.field) == (1, FILE) and "geen CSV-bestand" in error.reason
