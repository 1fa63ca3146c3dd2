"""Reading school files: encodings, delimiters, headers, blank rows, XLSX, and file problems."""

from __future__ import annotations

import io
import random
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pumpurs.columns import EVALUATION_COLUMNS, PLAN_COLUMNS
from pumpurs.config import load_config
from pumpurs.intake import ReadResult, read_bytes, read_file
from pumpurs.opening.template import build_plan_template
from pumpurs.semester import SemesterCode

REPO = Path(__file__).resolve().parents[2]
MAX = 1_000_000
HEADER_EN = "school_code,pupil_ref,grade,risk_categories,goal,measure,hours_per_month"
ROW = "LV-LIE-006,S-001,7,learning,Uzlabot atzīmes,psychologist,2"
LV_HEADERS = [column.lv for column in PLAN_COLUMNS]


def read(content: bytes, filename: str = "plani.csv", **options: Any) -> ReadResult:
    """Read bytes with a generous size limit."""
    return read_bytes(content, filename, max_bytes=MAX, **options)


def frame_of(result: ReadResult) -> pd.DataFrame:
    """Return the frame of a result that must have one."""
    assert result.problem is None, result.message("en")
    assert result.frame is not None
    return result.frame


def xlsx(rows: Sequence[Sequence[Any]], start_row: int = 1) -> bytes:
    """Write rows into the first sheet of a new workbook, from `start_row` on."""
    book = openpyxl.Workbook()
    sheet = book.active
    for offset, row in enumerate(rows):
        for column, value in enumerate(row, start=1):
            sheet.cell(row=start_row + offset, column=column, value=value)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_utf8_csv_gives_text_cells_numbered_like_the_spreadsheet() -> None:
    result = read(f"{HEADER_EN}\n{ROW}\n{ROW.replace('S-001', 'S-002')}\n".encode())
    frame = frame_of(result)
    assert (result.format, result.encoding, result.delimiter) == ("csv", "utf-8", ",")
    assert list(frame.columns) == [*HEADER_EN.split(","), "row_number"]
    assert frame["pupil_ref"].tolist() == ["S-001", "S-002"]
    assert frame["row_number"].tolist() == [2, 3]
    assert frame["goal"].iloc[0] == "Uzlabot atzīmes"
    assert frame["grade"].iloc[0] == "7"


def test_utf8_with_bom_recognises_the_first_header() -> None:
    result = read(f"{HEADER_EN}\r\n{ROW}\r\n".encode("utf-8-sig"))
    frame = frame_of(result)
    assert result.encoding == "utf-8-sig"
    assert frame["school_code"].tolist() == ["LV-LIE-006"]


def test_windows_1257_with_latvian_headers_and_diacritics() -> None:
    header = ";".join(LV_HEADERS[:6])
    row = "LV-LIE-006;Ādažu-17;7;ģimene;Uzlabot mācību rezultātus, šķēršļu novēršana;logopēds"
    result = read(f"{header}\r\n{row}\r\n".encode("cp1257"))
    frame = frame_of(result)
    assert (result.encoding, result.delimiter) == ("cp1257", ";")
    assert frame["pupil_ref"].iloc[0] == "Ādažu-17"
    assert frame["goal"].iloc[0] == "Uzlabot mācību rezultātus, šķēršļu novēršana"
    assert frame["measure"].iloc[0] == "logopēds"


def test_semicolon_with_decimal_comma_keeps_the_number_as_text() -> None:
    content = f"{HEADER_EN.replace(',', ';')}\n{ROW.replace(',', ';').replace(';2', ';2,5')}\n"
    result = read(content.encode())
    assert result.delimiter == ";"
    assert frame_of(result)["hours_per_month"].tolist() == ["2,5"]


def test_quoted_fields_keep_delimiters_and_line_breaks_in_one_cell() -> None:
    goal = '"Mērķis, ar komatu\nun otru rindu"'
    content = f"{HEADER_EN}\n{ROW.replace('Uzlabot atzīmes', goal)}\n{ROW}\n"
    frame = frame_of(read(content.encode()))
    assert frame["goal"].tolist() == ["Mērķis, ar komatu\nun otru rindu", "Uzlabot atzīmes"]
    assert frame["row_number"].tolist() == [2, 3]


def test_blank_rows_and_columns_are_dropped_and_row_numbers_kept() -> None:
    header = HEADER_EN.replace("grade,", "grade,,")
    row = ROW.replace(",7,", ",7,,")
    lines = ["", header, ",,,,,,,", row, "", " , ,", row.replace("S-001", "S-002"), ""]
    frame = frame_of(read("\n".join(lines).encode()))
    assert frame["row_number"].tolist() == [4, 7]
    assert "" not in frame.columns
    assert frame["pupil_ref"].tolist() == ["S-001", "S-002"]


def test_trailing_spaces_and_header_case_do_not_matter() -> None:
    header = "  SCHOOL_CODE ; Pupil Reference;KLASE;riska   grupas;Goal;measure "
    row = " LV-LIE-006 ;S-001  ;  7;learning ; Mērķis ;psychologist  "
    frame = frame_of(read(f"{header}\n{row}\n".encode()))
    assert frame.iloc[0].drop("row_number").tolist() == [
        "LV-LIE-006",
        "S-001",
        "7",
        "learning",
        "Mērķis",
        "psychologist",
    ]


def test_unknown_columns_are_ignored_and_reported() -> None:
    result = read(f"Nr.,{HEADER_EN},Piezīmes\n1,{ROW},ok\n".encode())
    assert result.ignored_columns == ("Nr.", "Piezīmes")
    assert "Nr." not in frame_of(result).columns


def test_excel_sep_line_sets_the_delimiter_and_is_not_a_row() -> None:
    content = f"sep=;\n{HEADER_EN.replace(',', ';')}\n{ROW.replace(',', ';')}\n"
    result = read(content.encode())
    assert result.delimiter == ";"
    assert frame_of(result)["row_number"].tolist() == [2]


def test_xlsx_gives_cells_as_people_see_them() -> None:
    header = HEADER_EN.split(",")
    content = xlsx([header, ["LV-LIE-006", "S-001", 7, "learning", "Mērķis", "psychologist", 2.5]])
    result = read(content, "plani.xlsx")
    frame = frame_of(result)
    assert result.format == "xlsx"
    assert frame[["grade", "hours_per_month"]].iloc[0].tolist() == ["7", "2.5"]
    assert frame["row_number"].tolist() == [2]


def test_xlsx_header_after_blank_rows_and_a_notes_row_are_handled() -> None:
    notes = [column.note("lv", "1 250,50") for column in PLAN_COLUMNS]
    data = ["LV-LIE-006", "S-001", 7, "learning", "Mērķis", "psychologist", None, "T-1", 2, None]
    blank = [None] * len(data)
    content = xlsx([LV_HEADERS, notes, data, blank, data], start_row=3)
    frame = frame_of(read(content, "plani.xlsx"))
    assert frame["row_number"].tolist() == [5, 7]
    assert frame["provider_ref"].tolist() == ["T-1", "T-1"]


def test_a_row_like_the_notes_but_not_first_is_data() -> None:
    notes = [column.note("en", "300") for column in PLAN_COLUMNS]
    data = ["LV-LIE-006", "S-001", 7, "learning", "Mērķis", "psychologist"]
    frame = frame_of(read(xlsx([LV_HEADERS, data, notes]), "plani.xlsx"))
    assert frame["row_number"].tolist() == [2, 3]


@pytest.mark.parametrize(("cap", "shown"), [(300, "300"), (1250.5, "1\u00a0250,5")])
def test_the_template_the_system_sends_reads_back(cap: float, shown: str) -> None:
    config = load_config(REPO / "config")
    programme = config.programme.model_copy(update={"monthly_cap_eur": cap})
    config = config.model_copy(update={"programme": programme})
    continuing = pd.DataFrame(
        {
            "pupil_ref": ["P-0012", "R-77"],
            "grade": [7, 11],
            "risk_categories": ["learning;economic", "family"],
            "goal": ["Uzlabot matemātikas vērtējumu", "Apmeklēt"],
            "measure": ["subject_consultation", "psychologist"],
            "subject": ["mathematics", None],
            "provider_ref": ["T-MAT-1", "PSY-2"],
            "hours_per_month": [4.0, 2.5],
            "eur_per_month": [None, None],
        }
    )
    semester = SemesterCode.parse("2026/2027-1")
    content = build_plan_template(config, "LV-LIE-006", semester, continuing)
    sheet = openpyxl.load_workbook(io.BytesIO(content)).worksheets[0]
    note = sheet.cell(row=2, column=len(PLAN_COLUMNS))
    assert note.value == f"Kompensācijām; kopā ≤ {shown} EUR mēnesī"
    frame = frame_of(read(content, "IAP_veidne.xlsx"))
    assert frame["row_number"].tolist() == [3, 4]
    assert frame["pupil_ref"].tolist() == ["P-0012", "R-77"]
    assert frame["hours_per_month"].tolist() == ["4", "2.5"]


def test_excel_unicode_text_is_read_as_tab_separated_utf16() -> None:
    content = f"{HEADER_EN}\r\n{ROW}\r\n".replace(",", "\t").encode("utf-16")
    result = read(content, "plani.txt")
    assert (result.encoding, result.delimiter) == ("utf-16", "\t")
    assert frame_of(result)["goal"].tolist() == ["Uzlabot atzīmes"]


END_CELL = "</table:table-cell>"


def _ods(rows: Sequence[Sequence[str | int]]) -> bytes:
    """Return a minimal OpenDocument spreadsheet (as LibreOffice saves by default)."""
    office = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
    table = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
    text = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"

    def cell(value: str | int) -> str:
        kind = f'"float" office:value="{value}"' if isinstance(value, int) else '"string"'
        return f"<table:table-cell office:value-type={kind}><text:p>{value}</text:p>{END_CELL}"

    body = "".join(f"<table:table-row>{''.join(map(cell, row))}</table:table-row>" for row in rows)
    content = (
        f'<?xml version="1.0" encoding="UTF-8"?><office:document-content xmlns:office="{office}" '
        f'xmlns:table="{table}" xmlns:text="{text}" office:version="1.2"><office:body>'
        f'<office:spreadsheet><table:table table:name="Lapa1">{body}</table:table>'
        "</office:spreadsheet></office:body></office:document-content>"
    )
    mimetype = "application/vnd.oasis.opendocument.spreadsheet"
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest='
        '"urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
        f'<manifest:file-entry manifest:full-path="/" manifest:media-type="{mimetype}"/>'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
        "</manifest:manifest>"
    )
    members = {"mimetype": mimetype, "content.xml": content, "META-INF/manifest.xml": manifest}
    return _zip({name: text.encode() for name, text in members.items()})


def test_an_opendocument_spreadsheet_is_read_too() -> None:
    header = HEADER_EN.split(",")
    data: list[str | int] = ["LV-LIE-006", "S-001", 7, "learning", "Mērķis", "psychologist", 2]
    result = read(_ods([header, data]), "plani.ods")
    assert result.format == "ods"
    assert frame_of(result)[["grade", "goal"]].iloc[0].tolist() == ["7", "Mērķis"]


def test_evaluation_columns_are_read_with_their_own_labels() -> None:
    header = ";".join(column.lv for column in EVALUATION_COLUMNS)
    row = "LV-LIE-006;S-001;psychologist;;10;;improved;jā;"
    result = read(f"{header}\n{row}\n".encode(), columns=EVALUATION_COLUMNS)
    assert frame_of(result)[["delivered_hours", "continue"]].iloc[0].tolist() == ["10", "jā"]


def _encrypted_ole2() -> bytes:
    """Return the start of an OLE2 compound file as Office writes password-protected XLSX."""
    header = bytes.fromhex("D0CF11E0A1B11AE1") + bytes(16) + b"\x3e\x00\x03\x00\xfe\xff"
    directory = "EncryptedPackage".encode("utf-16-le") + "EncryptionInfo".encode("utf-16-le")
    return header.ljust(512, b"\x00") + directory.ljust(512, b"\x00")


def _zip(members: dict[str, bytes]) -> bytes:
    """Return a zip archive holding these members."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


XLSX = xlsx([HEADER_EN.split(","), ROW.split(",")])


NOTES_LV = [column.note("lv", "9") for column in PLAN_COLUMNS]


@pytest.mark.parametrize(
    ("content", "filename", "problem"),
    [
        (b"", "a.csv", "intake.file.empty"),
        (b"  \r\n\t\n ", "a.csv", "intake.file.empty"),
        (b"\xef\xbb\xbf\n", "a.csv", "intake.file.empty"),
        (b"\n,,,\n;;\n", "a.csv", "intake.file.empty"),
        (random.Random(7).randbytes(4000), "a.csv", "intake.file.unreadable"),
        (random.Random(7).randbytes(4000), "a.xlsx", "intake.file.corrupt"),
        (b"\x89PNG\r\n\x1a\n" + bytes(100), "scan.png", "intake.file.unreadable"),
        (XLSX[: len(XLSX) // 2], "a.xlsx", "intake.file.corrupt"),
        (_zip({"xl/workbook.xml": b"<not xml"}), "a.xlsx", "intake.file.corrupt"),
        (_zip({"word/document.xml": b"<w/>"}), "a.docx", "intake.file.unsupported_format"),
        (_encrypted_ole2(), "a.xlsx", "intake.file.encrypted"),
        (
            bytes.fromhex("D0CF11E0A1B11AE1") + bytes(1000),
            "a.xls",
            "intake.file.unsupported_format",
        ),
        (b"Sveiki!\nLudzu skatiet pielikumu.\n", "a.csv", "intake.file.missing_columns"),
        (f"{HEADER_EN}\n".encode(), "a.csv", "intake.file.no_rows"),
        (f"{HEADER_EN}\n,,,\n\n".encode(), "a.csv", "intake.file.no_rows"),
        (xlsx([LV_HEADERS, NOTES_LV]), "a.xlsx", "intake.file.no_rows"),
        (xlsx([]), "a.xlsx", "intake.file.empty"),
    ],
)
def test_file_problems_are_named_not_raised(content: bytes, filename: str, problem: str) -> None:
    result = read(content, filename)
    assert (result.frame, result.problem) == (None, problem)
    assert result.message("lv")
    assert result.message("en")


def test_missing_columns_are_listed_by_their_labels() -> None:
    result = read(b"school_code,pupil_ref,grade,measure\nLV-LIE-006,S-1,7,meals\n", "plani.csv")
    assert result.params == {"missing": ("risk_categories", "goal")}
    assert result.message("lv") == (
        "Failā “plani.csv” virsrakstu rindā trūkst obligāto kolonnu: “Riska grupas”, "
        "“Plāna mērķis”. Pievienojiet tās (der veidnes nosaukumi vai angliskie nosaukumi) "
        "un iesniedziet failu vēlreiz."
    )
    assert "“Risk categories”, “Goal”" in (result.message("en") or "")


def test_too_large_bytes_are_refused() -> None:
    result = read_bytes(b"x" * 3_000_000, "big.csv", max_bytes=2 * 1024 * 1024)
    assert result.problem == "intake.file.too_large"
    assert result.params == {"size_mb": 2.9, "limit_mb": 2.0}
    assert "2,9 MB" in (result.message("lv") or "")
    assert "2.9 MB" in (result.message("en") or "")


def test_too_large_file_is_refused_without_reading_it(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    with path.open("wb") as handle:
        handle.truncate(50 * 1024 * 1024)  # sparse: nothing to read if it were read
    result = read_file(path, max_bytes=20 * 1024 * 1024)
    assert result.problem == "intake.file.too_large"
    assert result.message("lv") == (
        "Fails “big.csv” ir 50 MB liels, bet drīkst būt ne lielāks par 20 MB. Izdzēsiet liekās "
        "lapas un attēlus vai sadaliet datus vairākos failos un iesniedziet tos vēlreiz."
    )


def test_read_file_reads_what_read_bytes_reads(tmp_path: Path) -> None:
    path = tmp_path / "plani.xlsx"
    path.write_bytes(XLSX)
    from_file = frame_of(read_file(path, max_bytes=MAX))
    pd.testing.assert_frame_equal(from_file, frame_of(read(XLSX, "plani.xlsx")))


def test_a_missing_file_is_unreadable(tmp_path: Path) -> None:
    assert read_file(tmp_path / "nav.csv", max_bytes=MAX).problem == "intake.file.unreadable"


def _check(result: ReadResult) -> None:
    """Assert a result has a frame of text with row numbers, or a problem, never both."""
    assert (result.frame is None) != (result.problem is None)
    if result.frame is not None:
        assert not result.frame.empty
        assert result.frame["row_number"].is_monotonic_increasing
        assert result.frame["row_number"].min() >= 2
    else:
        assert result.message("lv")


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=3000), st.sampled_from(["a.csv", "a.xlsx", "a"]))
def test_any_bytes_give_a_frame_or_a_problem(content: bytes, filename: str) -> None:
    _check(read(content, filename))


@settings(max_examples=100, deadline=None)
@given(
    st.sampled_from([b"PK\x03\x04", bytes.fromhex("D0CF11E0A1B11AE1"), HEADER_EN.encode()]),
    st.binary(max_size=2000),
)
def test_any_bytes_after_a_known_start_give_a_frame_or_a_problem(start: bytes, rest: bytes) -> None:
    _check(read(start + rest, "a.xlsx"))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.lists(st.text(max_size=12), max_size=8), max_size=8))
def test_any_text_table_gives_a_frame_or_a_problem(cells: list[list[str]]) -> None:
    lines = [HEADER_EN, *(",".join(row) for row in cells)]
    _check(read("\n".join(lines).encode()))
