"""A region's file as a grid of text cells, whatever it was saved as: checked for what it really
is first (workbook, legacy or protected workbook, web page, binary junk), then decoded.

Header rows are left in the grid: which rows are headers is each tool's business (`tools.py`)."""

from __future__ import annotations

import io
import re
import struct
import zipfile
import zlib

import fastexcel
import polars as pl
from charset_normalizer import from_bytes

from transforms.problems import FileRejected, Problem

ZIP_SIGNATURE = b"PK\x03\x04"
OLE_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
MAX_UNZIPPED_RATIO = 100
"""Real .xlsx files unzip to 5-20 times their size; a zip bomb to thousands."""
MAX_UNZIPPED_BYTES = 512 * 1024 * 1024
INFLATE_CHUNK = 1 << 20
LOCAL_HEADER = struct.Struct("<4s22xHH")
"""A zip member's local header: signature, then (after 22 bytes) its name and extra lengths."""
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
MAX_CONTROL_SHARE = 0.01
SEPARATORS = (",", ";", "\t")


def refuse(found: str, allowed: str) -> FileRejected:
    return FileRejected([Problem(None, None, found, allowed)])


SAVE_AS = "save the export as .xlsx (Excel Workbook) or .csv (CSV UTF-8) and drop that file"


def read_grid(data: bytes) -> pl.DataFrame:
    """Every row of the first sheet (or the CSV) as text, header rows included, one column per
    position (`column_0`, ...). Blank lines stay, so positions are the region's row numbers."""
    if data.strip() == b"":
        raise refuse("an empty file", "the export's header row(s) and one row per respondent")
    if data.startswith(ZIP_SIGNATURE):
        return _workbook(data)
    if data.startswith(OLE_SIGNATURE):
        raise refuse(
            "a password-protected workbook or an old-format .xls file",
            f"remove the password (File > Info > Protect Workbook); {SAVE_AS}",
        )
    head = data[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith((b"<!doctype html", b"<html", b"<?xml", b"<table", b"<meta")):
        raise refuse("a web page (HTML or XML) saved with a spreadsheet's name", SAVE_AS)
    return _csv(data)


def _workbook(data: bytes) -> pl.DataFrame:
    limit = min(MAX_UNZIPPED_BYTES, MAX_UNZIPPED_RATIO * max(len(data), 1))
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
            names = {m.filename for m in members}
            unzipped = _inflated_bytes(data, members, limit)
    except (zipfile.BadZipFile, zlib.error, ValueError, OSError, struct.error):
        raise refuse(
            "a damaged or incomplete workbook (the zip inside is broken)", SAVE_AS
        ) from None
    if unzipped > limit:
        raise refuse(
            f"a workbook that unzips to more than {unzipped // 1_000_000} MB from "
            f"{max(len(data) // 1000, 1)} kB, out of proportion to a survey export",
            "an export straight from the survey tool",
        )
    if "xl/workbook.xml" not in names:
        raise refuse("a zip archive that is not an Excel workbook", SAVE_AS)
    try:
        reader = fastexcel.read_excel(data)
        sheet = reader.load_sheet(0, header_row=None, dtypes="string")
        frame = sheet.to_polars()
    except Exception:  # calamine's errors have no common base class
        raise refuse("a workbook whose first sheet cannot be read", SAVE_AS) from None
    if frame.width == 0 or frame.height == 0:
        raise refuse("a workbook whose first sheet is empty", "the responses on the first sheet")
    return _positional(frame.select(pl.all().cast(pl.Utf8)))


def _inflated_bytes(data: bytes, members: list[zipfile.ZipInfo], limit: int) -> int:
    """The bytes the members really inflate to, counted while inflating (what each member
    declares can lie), stopping as soon as the count passes `limit`."""
    total = 0
    view = memoryview(data)
    for member in members:
        signature, name_length, extra_length = LOCAL_HEADER.unpack_from(data, member.header_offset)
        if signature != ZIP_SIGNATURE:
            raise zipfile.BadZipFile("local header")
        start = member.header_offset + LOCAL_HEADER.size + name_length + extra_length
        body = view[start : start + member.compress_size]
        if member.compress_type == zipfile.ZIP_STORED:
            total += len(body)
        elif member.compress_type == zipfile.ZIP_DEFLATED:
            inflater = zlib.decompressobj(-zlib.MAX_WBITS)
            position = 0
            while not inflater.eof and (position < len(body) or inflater.unconsumed_tail):
                if inflater.unconsumed_tail:
                    chunk = inflater.unconsumed_tail
                else:
                    chunk = body[position : position + INFLATE_CHUNK]
                    position += INFLATE_CHUNK
                total += len(inflater.decompress(chunk, INFLATE_CHUNK))
                if total > limit:
                    return total
        else:
            raise zipfile.BadZipFile("a compression Excel does not use")
        if total > limit:
            return total
    return total


def decode(data: bytes) -> tuple[str, bool]:
    """The text: UTF-8 (with or without BOM, or UTF-16 with BOM); else Windows-1252 as Excel's
    "CSV (Comma delimited)" writes, when the detector agrees the bytes are text at all. And
    whether the bytes are UTF-8 as they stand (a BOM aside)."""
    text: str | None = None
    utf8 = True
    for bom, encoding in (
        (b"\xef\xbb\xbf", "utf-8-sig"),
        (b"\xff\xfe", "utf-16"),
        (b"\xfe\xff", "utf-16"),
    ):
        if data.startswith(bom):
            try:
                text = data.decode(encoding)
            except UnicodeDecodeError:
                raise refuse("text that is not valid " + encoding.upper(), SAVE_AS) from None
            utf8 = encoding == "utf-8-sig"
            break
    if text is None:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = _legacy_text(data)
            utf8 = False
    if "\x00" in text or len(CONTROL.findall(text[:65536])) > MAX_CONTROL_SHARE * min(
        len(text), 65536
    ):
        raise refuse("binary content, not a text (CSV) file", SAVE_AS)
    return text, utf8


def _legacy_text(data: bytes) -> str:
    best = from_bytes(data[:65536]).best()
    if best is None or b"\x00" in data:
        raise refuse("binary content, not a text (CSV) file", SAVE_AS)
    for encoding in ("cp1252", best.encoding):
        try:
            return data.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            continue
    raise refuse("text in an encoding that cannot be recognised", SAVE_AS)


def separator(text: str) -> str:
    """The delimiter of the first line: `,`, or `;` as European Excel writes, or tab."""
    end = text.find("\n")
    first = re.sub(r'"[^"]*"', "", text if end < 0 else text[:end])
    return max(SEPARATORS, key=first.count)


def _csv(data: bytes) -> pl.DataFrame:
    """Parsed from the file's own bytes when they are UTF-8 (polars skips a BOM), so a large
    export is not held three times over: as bytes, as text and as text encoded again."""
    text, utf8 = decode(data)
    delimiter = separator(text)
    utf8_bytes = data if utf8 else text.encode()
    del text
    try:
        frame = pl.read_csv(
            utf8_bytes,
            separator=delimiter,
            has_header=False,
            infer_schema=False,
            truncate_ragged_lines=False,
            raise_if_empty=True,
        )
    except pl.exceptions.PolarsError as exc:
        raise refuse(
            f"a CSV layout that cannot be read ({type(exc).__name__})",
            "the same number of columns on every row, as the survey tool exports it",
        ) from None
    return _positional(frame)


def _positional(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.rename({old: f"column_{i}" for i, old in enumerate(frame.columns)})
