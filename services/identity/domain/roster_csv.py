"""Parse a roster CSV as exported by Dutch school administration systems (Magister, SOMtoday).

Pure: bytes in, a `RosterParseResult` out; no I/O.

- Encoding: UTF-8 (with or without BOM), else Windows-1252.
- Delimiter: `;`, `,` or a tab, whichever occurs most in the header line.
- Header names are matched case-insensitively, ignoring spaces, dashes, dots and
  underscores, against the aliases in `COLUMNS`; unknown columns are ignored.
- Every bad row and every bad field is reported, each as a `RosterError` with the
  line number in the file, the Dutch column name (or `FILE` / `LINE` for errors
  about the whole file or the whole line) and a Dutch sentence.
- No cell may hold a control character (a line break inside quotes, a tab, a NUL):
  names end up in mail headers and NUL cannot be stored. Around a value they are
  trimmed like spaces; inside it they are an error of that field. A NUL in the
  first line means the file is no text at all (a spreadsheet, UTF-16).

All or nothing: when `result.errors` is non-empty the caller must import nothing,
not even the rows that did parse, and show the errors so the school can fix the file.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from typing import Callable, Iterator

from shared.text import single_line_problem

from .bsn import BsnError, normalize_bsn

DEFAULT_MAX_ROWS = 20000

FILE = "bestand"  # `field` of an error about the whole file
LINE = "regel"  # `field` of an error about a whole line

DELIMITERS = (";", ",", "\t")
MENTOR_SEPARATORS = re.compile(r"[,;|]")
EMAIL_RE = re.compile(r"^[^@\s,;|<>\"]+@[^@\s,;|<>\"]+\.[^@\s,;|<>\".]{2,}$")


@dataclass(frozen=True, slots=True)
class RosterRow:
    line: int
    student_number: str
    roepnaam: str
    voornamen: str  # "" when not given
    tussenvoegsel: str  # "" when not given
    achternaam: str
    date_of_birth: date
    class_name: str
    school_year: int
    email: str | None  # lowercased
    bsn: str | None  # 9 digits, passed the eleven test
    mentor_emails: tuple[str, ...]  # lowercased, without duplicates, in file order
    # the parents or guardians of the optional columns (``PARENT_SLOTS``): None when the file has none of
    # those columns (what the roster knows stays), else a tuple of {name, email, relation}, maybe empty
    parents: tuple[dict, ...] | None = None


@dataclass(frozen=True, slots=True)
class RosterError:
    line: int
    field: str
    reason: str

    def __str__(self) -> str:
        return f"Regel {self.line}, {self.field}: {self.reason}"


@dataclass(slots=True)
class RosterParseResult:
    rows: list[RosterRow] = field(default_factory=list)
    errors: list[RosterError] = field(default_factory=list)
    encoding: str | None = None
    delimiter: str | None = None

    @property
    def ok(self) -> bool:
        """True when the file may be imported (no errors at all)."""
        return not self.errors


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    label: str  # Dutch column name used in errors
    aliases: tuple[str, ...]  # normalised header names (see `_header_key`)
    required: bool


COLUMNS = (
    Column("student_number", "Leerlingnummer",
           ("leerlingnummer", "stamnummer", "studentnummer", "leerlingnr", "stamnr"), True),
    Column("roepnaam", "Roepnaam", ("roepnaam",), True),
    Column("voornamen", "Voornamen", ("voornamen",), False),
    Column("tussenvoegsel", "Tussenvoegsel", ("tussenvoegsel", "tussenvoegsels"), False),
    Column("achternaam", "Achternaam", ("achternaam",), True),
    Column("date_of_birth", "Geboortedatum", ("geboortedatum",), True),
    Column("class_name", "Klas", ("klas",), True),
    Column("school_year", "Leerjaar", ("leerjaar",), True),
    Column("email", "E-mail", ("email", "emailadres"), False),
    Column("bsn", "BSN", ("bsn",), False),
    Column("mentors", "Mentor", ("mentor", "mentoren"), False),
)


def _parent_columns(n: int) -> tuple[Column, ...]:
    """The optional columns of parent (or guardian) ``n``: name, e-mail address and relation. Parent 1
    may go without its number ("Ouder naam", "E-mail ouder")."""
    def names(*parts: str) -> tuple[str, ...]:
        nums = (str(n), "") if n == 1 else (str(n),)
        return tuple(dict.fromkeys(f"{w}{i}{p}" if order else f"{p}{w}{i}" for w in ("ouder", "verzorger")
                                   for i in nums for p in parts for order in (True, False)))
    return (Column(f"parent{n}_name", f"Ouder {n} naam", names("naam"), False),
            Column(f"parent{n}_email", f"Ouder {n} e-mail", names("email", "emailadres"), False),
            Column(f"parent{n}_relation", f"Ouder {n} relatie", names("relatie"), False))


PARENT_SLOTS = (1, 2)
PARENT_COLUMNS = tuple(c for n in PARENT_SLOTS for c in _parent_columns(n))
COLUMNS = COLUMNS + PARENT_COLUMNS
_LABEL = {c.key: c.label for c in COLUMNS}


# --- decoding and header -------------------------------------------------------------------


def _decode(data: bytes) -> tuple[str, str] | RosterError:
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        return RosterError(line, FILE, "Het bestand bevat tekens die niet te lezen zijn. "
                           "Sla het op als CSV (UTF-8) en probeer het opnieuw.")


def _header_key(name: str) -> str:
    return re.sub(r"[\s\-_.]", "", name).lower()


def _first_line(text: str) -> str:
    return next((ln for ln in text.splitlines() if ln.strip()), "")


def _detect_delimiter(text: str) -> str:
    return max(DELIMITERS, key=_first_line(text).count)  # ties go to ";" (the Dutch Excel default)


def _map_header(header: list[str], line: int) -> dict[str, int] | list[RosterError]:
    """Map column keys to their index, or return the header's errors."""
    by_alias = {alias: col for col in COLUMNS for alias in col.aliases}
    index: dict[str, int] = {}
    errors: list[RosterError] = []
    for i, name in enumerate(header):
        col = by_alias.get(_header_key(name))
        if col is None:
            continue
        if col.key in index:
            errors.append(RosterError(line, col.label, f"De kolom {col.label} komt meer dan één keer voor."))
        index[col.key] = i
    missing = [c.label for c in COLUMNS if c.required and c.key not in index]
    if missing:
        errors.append(RosterError(line, FILE, "Verplichte kolommen ontbreken: " + ", ".join(missing)
                                  + ". Controleer of de eerste regel de kolomnamen bevat."))
    return errors or index


# --- field parsers: each returns the value or raises _FieldError with a Dutch reason -------


class _FieldError(Exception):
    pass


_DMY = re.compile(r"^(\d{1,2})([-/.])(\d{1,2})\2(\d{4})$")
_YMD = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")


def _required(label: str) -> Callable[[str], str]:
    def parse(value: str) -> str:
        if not value:
            raise _FieldError(f"{label} ontbreekt.")
        return value
    return parse


def _optional_text(value: str) -> str:
    return value


def _date_of_birth(value: str) -> date:
    """Parse dd-mm-yyyy, d-m-yyyy, dd/mm/yyyy, dd.mm.yyyy or yyyy-mm-dd."""
    if not value:
        raise _FieldError("Geboortedatum ontbreekt.")
    if m := _DMY.match(value):
        day, month, year = int(m[1]), int(m[3]), int(m[4])
    elif m := _YMD.match(value):
        year, month, day = int(m[1]), int(m[2]), int(m[3])
    else:
        raise _FieldError(f"Geboortedatum '{value}' heeft niet de vorm dd-mm-jjjj.")
    try:
        if year < 1900:
            raise ValueError
        return date(year, month, day)
    except ValueError:
        raise _FieldError(f"Geboortedatum '{value}' is geen geldige datum.") from None


def _school_year(value: str) -> int:
    if not value:
        raise _FieldError("Leerjaar ontbreekt.")
    if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= 8:
        raise _FieldError(f"Leerjaar '{value}' is geen getal van 1 tot en met 8.")
    return int(value)


def is_valid_email(value: str) -> bool:
    """A simple syntax check: something@domain.tld, no spaces or list separators."""
    return bool(EMAIL_RE.match(value))


def _email(value: str) -> str | None:
    if not value:
        return None
    if not is_valid_email(value):
        raise _FieldError(f"E-mailadres '{value}' is geen geldig e-mailadres.")
    return value.lower()


def _bsn(value: str) -> str | None:
    if not value:
        return None
    try:
        return normalize_bsn(value)
    except BsnError as exc:
        if exc.kind == "checksum":
            raise _FieldError("BSN klopt niet (elfproef).") from None
        raise _FieldError("BSN moet uit 9 cijfers bestaan.") from None


def _parent_email(value: str) -> str | None:
    if not value:
        return None
    if not is_valid_email(value):
        raise _FieldError(f"E-mailadres van de ouder '{value}' is geen geldig e-mailadres.")
    return value.lower()


def _relation(value: str) -> str:
    if len(value) > 50:
        raise _FieldError("De relatie is te lang (hooguit 50 tekens), bijvoorbeeld moeder, vader of voogd.")
    return value


def _parent_name(value: str) -> str:
    if len(value) > 200:
        raise _FieldError("De naam van de ouder is te lang (hooguit 200 tekens).")
    return value


def _mentors(value: str) -> tuple[str, ...]:
    emails = [part.strip() for part in MENTOR_SEPARATORS.split(value) if part.strip()]
    bad = [e for e in emails if not is_valid_email(e)]
    if bad:
        quoted = ", ".join(f"'{e}'" for e in bad)
        raise _FieldError(f"Mentor {quoted} is geen geldig e-mailadres."
                          if len(bad) == 1 else f"Mentoren {quoted} zijn geen geldige e-mailadressen.")
    return tuple(dict.fromkeys(e.lower() for e in emails))


_PARSERS: dict[str, Callable[[str], object]] = {
    "student_number": _required("Leerlingnummer"),
    "roepnaam": _required("Roepnaam"),
    "voornamen": _optional_text,
    "tussenvoegsel": _optional_text,
    "achternaam": _required("Achternaam"),
    "date_of_birth": _date_of_birth,
    "class_name": _required("Klas"),
    "school_year": _school_year,
    "email": _email,
    "bsn": _bsn,
    "mentors": _mentors,
    **{f"parent{n}_{part}": parse for n in PARENT_SLOTS
       for part, parse in (("name", _parent_name), ("email", _parent_email), ("relation", _relation))},
}


# --- rows ----------------------------------------------------------------------------------


def _clean(cell: str) -> str:
    return unicodedata.normalize("NFC", cell).strip()


def _check_width(cells: list[str], width: int, line: int, index: dict[str, int]) -> RosterError | None:
    if len(cells) > width and not any(cells[width:]):
        return None  # trailing empty cells, e.g. a delimiter at the end of the line
    if len(cells) == width:
        return None
    reason = f"Deze regel heeft {len(cells)} kolommen, maar de kopregel heeft er {width}."
    if len(cells) > width and "mentors" in index:
        reason += (" Staan er meerdere mentoren in één veld? Zet dat veld dan tussen"
                   " aanhalingstekens of scheid de adressen met |.")
    return RosterError(line, LINE, reason)


def _parse_row(
    cells: list[str], line: int, index: dict[str, int]
) -> tuple[RosterRow | None, list[RosterError]]:
    values: dict[str, object] = {}
    errors: list[RosterError] = []
    for key, parse in _PARSERS.items():
        raw = cells[index[key]] if key in index else ""
        if (problem := single_line_problem(raw)) is not None:
            errors.append(RosterError(line, _LABEL[key], problem))
            continue
        try:
            values[key] = parse(raw)
        except _FieldError as exc:
            errors.append(RosterError(line, _LABEL[key], str(exc)))
    parents = _parents(values, line, index, errors)
    if errors:
        return None, errors
    mentors = values.pop("mentors")
    return RosterRow(line=line, mentor_emails=mentors, parents=parents, **values), []  # type: ignore[arg-type]


def _parents(values: dict, line: int, index: dict[str, int], errors: list[RosterError]) -> tuple[dict, ...] | None:
    """The row's parents (taken out of ``values``); None when the file has no parent columns. A parent
    needs an e-mail address (the dossier mails them), and it is not the student's own."""
    fields = {f"parent{n}_{part}": values.pop(f"parent{n}_{part}", None)
              for n in PARENT_SLOTS for part in ("name", "email", "relation")}
    if not any(c.key in index for c in PARENT_COLUMNS):
        return None
    parents, seen = [], set()
    for n in PARENT_SLOTS:
        name, email, relation = (fields[f"parent{n}_{part}"] for part in ("name", "email", "relation"))
        if email is None:
            if name or relation:
                errors.append(RosterError(line, _LABEL[f"parent{n}_email"], "Vul het e-mailadres van de ouder in, "
                                          "of laat naam en relatie van deze ouder leeg."))
            continue
        if email == values.get("email"):
            errors.append(RosterError(line, _LABEL[f"parent{n}_email"], "Dit is het e-mailadres van de leerling "
                                      "zelf, niet dat van een ouder."))
            continue
        if email in seen:
            continue
        seen.add(email)
        parents.append({"name": name or None, "email": email, "relation": relation or None})
    return tuple(parents)


class _UnreadableRecord(Exception):
    def __init__(self, line: int) -> None:
        super().__init__(line)
        self.line = line


def _records(text: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """Yield (first line number, cleaned cells) for every non-empty record."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    previous_end = 0
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error:
            raise _UnreadableRecord(previous_end + 1) from None
        start, previous_end = previous_end + 1, reader.line_num
        cells = [_clean(c) for c in cells]
        if any(cells):
            yield start, cells


def _parse_body(
    records: Iterator[tuple[int, list[str]]],
    header_line: int,
    header: list[str],
    index: dict[str, int],
    result: RosterParseResult,
    max_rows: int,
) -> None:
    """Parse the data rows into `result`; duplicates of a student number are errors."""
    seen_numbers: dict[str, int] = {}
    count = 0
    for line, cells in records:
        count += 1
        if count > max_rows:
            result.rows.clear()
            result.errors[:] = [RosterError(line, FILE, f"Het bestand heeft meer dan {max_rows} "
                                            "leerlingen. Splits het op in kleinere bestanden.")]
            return
        width_error = _check_width(cells, len(header), line, index)
        if width_error:
            result.errors.append(width_error)
            continue
        row, errors = _parse_row(cells, line, index)
        number = cells[index["student_number"]]
        if number in seen_numbers:
            errors.append(RosterError(line, _LABEL["student_number"], f"Leerlingnummer {number} "
                                      f"komt ook voor op regel {seen_numbers[number]}."))
        elif number:
            seen_numbers[number] = line
        result.errors.extend(errors)
        if not errors:
            result.rows.append(row)  # type: ignore[arg-type]
    if count == 0:
        result.errors.append(RosterError(header_line, FILE,
                                         "Het bestand bevat geen leerlingen, alleen een kopregel."))


def parse_roster(data: bytes, *, max_rows: int = DEFAULT_MAX_ROWS) -> RosterParseResult:
    """Parse roster CSV bytes. Import the rows only when `result.errors` is empty."""
    result = RosterParseResult()
    if not data.strip():
        result.errors.append(RosterError(1, FILE, "Het bestand is leeg."))
        return result
    decoded = _decode(data)
    if isinstance(decoded, RosterError):
        result.errors.append(decoded)
        return result
    text, result.encoding = decoded
    if "\x00" in _first_line(text):
        result.errors.append(RosterError(1, FILE, "Dit is geen CSV-bestand. Sla het bestand in "
                                         "Excel op als CSV (gescheiden door puntkomma's)."))
        return result
    result.delimiter = _detect_delimiter(text)
    records = _records(text, result.delimiter)
    try:
        header_line, header = next(records)
        index = _map_header(header, header_line)
        if isinstance(index, list):
            result.errors.extend(index)
            return result
        _parse_body(records, header_line, header, index, result, max_rows)
    except StopIteration:
        result.errors.append(RosterError(1, FILE, "Het bestand is leeg."))
    except _UnreadableRecord as exc:
        result.errors.append(RosterError(exc.line, LINE, "Vanaf hier kan het bestand niet gelezen "
                                         "worden: controleer de aanhalingstekens (\")."))
    result.errors.sort(key=lambda e: e.line)
    return result


def file_errors(rows: list[RosterRow]) -> list[RosterError]:
    """Checks over rows that the parser does not do: the same BSN twice."""
    seen: dict[str, int] = {}
    errors = []
    for row in rows:
        if row.bsn is None:
            continue
        if row.bsn in seen:
            errors.append(RosterError(row.line, "BSN", f"Dit BSN staat ook op regel {seen[row.bsn]}."))
        else:
            seen[row.bsn] = row.line
    return errors
