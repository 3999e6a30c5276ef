"""What an XLSX workbook holds beyond the first sheet's cell values, as the reader (etl/readers) needs it.

The engine (calamine, through fastexcel) reads cached values: a formula cell carries the value the
spreadsheet program last computed, an error cell none (it reads as empty), a time-only cell the
date of serial day 0 (1899-12-31, or 1904-01-01 in the 1904 date system). This module reads the
workbook's XML for what the engine does not say: the date system, and the formula cells of the
first sheet that hold no computed value (a workbook written by a program - openpyxl, xlsxwriter,
Polars' write_excel - and never opened in a spreadsheet program: openpyxl stores no value,
xlsxwriter a 0).
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree

# calamine's error cell types (its Debug names, as fastexcel reports them) -> the text Excel shows
EXCEL_ERRORS = {
    "Div0": "#DIV/0!", "NA": "#N/A", "Name": "#NAME?", "Null": "#NULL!", "Num": "#NUM!", "Ref": "#REF!",
    "Value": "#VALUE!", "GettingData": "#GETTING_DATA",
}
_CELL_ERROR = re.compile(r"\bError\((\w+)\)")
_FORMULA_TAG = re.compile(rb"<(?:\w+:)?f[\s/>]")  # a formula element, with or without a namespace prefix
_TRUE = ("1", "true")


def error_text(detail: str) -> str | None:
    """'#DIV/0!' for fastexcel's "Expected string but got 'Error(Div0)'"; None when the detail names no error."""
    found = _CELL_ERROR.search(detail)
    return EXCEL_ERRORS.get(found.group(1)) if found else None


@dataclass(frozen=True)
class Workbook:
    date1904: bool = False  # the 1904 date system (old Mac Excel): day 0 is 1904-01-01
    # formula cells of the first sheet without a computed value: (cell reference, formula), the first few
    uncomputed: list[tuple[str, str]] = field(default_factory=list)
    n_uncomputed: int = 0


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _attr(element: ElementTree.Element, name: str) -> str | None:
    for key, value in element.attrib.items():
        if _local(key) == name:
            return value
    return None


def _first_sheet_part(book: zipfile.ZipFile, workbook: ElementTree.Element) -> str | None:
    sheet = next((e for e in workbook.iter() if _local(e.tag) == "sheet"), None)
    rid = _attr(sheet, "id") if sheet is not None else None
    if rid is None:
        return None
    rels = ElementTree.fromstring(book.read("xl/_rels/workbook.xml.rels"))
    for rel in rels.iter():
        if _local(rel.tag) == "Relationship" and rel.get("Id") == rid:
            target = rel.get("Target", "")
            return target.lstrip("/") if target.startswith("/") else f"xl/{target}"
    return None


def _has_formula(book: zipfile.ZipFile, part: str) -> bool:
    """A cheap pass over the sheet's XML (most sheets hold no formula at all)."""
    tail = b""
    with book.open(part) as fh:
        while chunk := fh.read(1 << 20):
            if _FORMULA_TAG.search(tail + chunk):
                return True
            tail = chunk[-8:]
    return False


def inspect(path: Path, keep: int = 3) -> Workbook:
    """The workbook's date system and the first sheet's formula cells without a computed value.

    A file whose parts cannot be found or parsed gives the defaults: the engine reads it (or says why not).
    """
    try:
        with zipfile.ZipFile(path) as book:
            workbook = ElementTree.fromstring(book.read("xl/workbook.xml"))
            props = next((e for e in workbook.iter() if _local(e.tag) == "workbookPr"), None)
            date1904 = props is not None and (_attr(props, "date1904") or "").lower() in _TRUE
            calc = next((e for e in workbook.iter() if _local(e.tag) == "calcPr"), None)
            # 'calculate everything when opened': the stored results are not to be trusted (xlsxwriter and
            # openpyxl write it; a spreadsheet program that saves the file has computed them)
            recalc = calc is not None and (_attr(calc, "fullCalcOnLoad") or "").lower() in _TRUE
            part = _first_sheet_part(book, workbook)
            if part is None or not _has_formula(book, part):
                return Workbook(date1904)
            found: list[tuple[str, str]] = []
            count = 0
            with book.open(part) as fh:
                for _, element in ElementTree.iterparse(fh):
                    name = _local(element.tag)
                    if name == "row":
                        element.clear()
                    if name != "c":
                        continue
                    parts = {_local(child.tag): child for child in element}
                    formula = parts.get("f")
                    if formula is None:
                        continue
                    kind = element.get("t", "n")
                    value = parts["v"].text if "v" in parts else None
                    # an empty value is a result only for a text formula (t="str": ="" gives an empty text)
                    missing = not value and kind != "str" and "is" not in parts
                    if missing or (recalc and kind == "n" and value == "0"):
                        count += 1
                        if len(found) < keep:
                            found.append((element.get("r", "?"), formula.text or "(shared formula)"))
            return Workbook(date1904, found, count)
    except (KeyError, OSError, zipfile.BadZipFile, ElementTree.ParseError):
        return Workbook()
