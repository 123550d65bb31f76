"""Refusing hostile, encrypted, macro-bearing or mislabelled outcome files before parsing.

An outcome file comes from outside, and a spreadsheet is a zip of XML (or an OLE2
compound file) that a parser trusts. Before calamine sees a byte: the magic bytes must
match the extension (a PDF named .xlsx is refused); zip archives are judged from their
central directory (member count, declared sizes, compression ratio, encryption,
`vbaProject.bin`); every member is then inflated here, chunk by chunk, with a hard stop at
its declared size, so an archive whose headers lie cannot expand behind our back, and a
DTD (`<!DOCTYPE`, `<!ENTITY`) in any XML member is refused outright: Office never writes
one. Worksheets are inflated lazily, just before their sheet is read (see xlsx_scan.py).

Each refusal is one Issue with a stable code: file-not-spreadsheet, file-corrupt,
file-hostile, file-macros, file-encrypted.
"""

from __future__ import annotations

import pathlib
import struct
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass

from contracts.issues import Issue, Location

MAX_TOTAL = 2 << 30  # declared uncompressed bytes of all members
MAX_MEMBERS = 10_000
MAX_RATIO = 200  # uncompressed : compressed, for members above RATIO_FLOOR
RATIO_FLOOR = 1 << 20
CHUNK = 1 << 20

ZIP_TYPES = {".xlsx", ".xlsm", ".xlsb", ".ods"}
OLE_TYPES = {".xls"}
TEXT_TYPES = {".csv", ".tsv", ".txt"}
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_OLE_ENCRYPTED = "EncryptedPackage".encode("utf-16-le")
_OLE_MACROS = "_VBA_PROJECT_CUR".encode("utf-16-le")


class Refused(Exception):
    """Raised inside this module and xlsx_scan; always turned into an Issue."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Verdict:
    """What the file is, or why it is refused."""

    kind: str  # "zip", "ole" or "text"
    issue: Issue | None  # the refusal, if any
    members: dict[str, zipfile.ZipInfo]  # zip members by name (empty for other kinds)


def _describe(head: bytes) -> str:
    if head.startswith(b"%PDF"):
        return "a PDF document"
    if head.startswith(_ZIP_MAGIC):
        return "a zip archive"
    if head.startswith(_OLE_MAGIC):
        return "an old-style Office file (.xls/.doc)"
    if b"\0" in head[:4096] and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "a binary file"  # (UTF-16 text, as Excel's "Unicode text", has NULs)
    return "a text file"


def inspect(path: pathlib.Path, file: str) -> Verdict:
    """Judge the file from its bytes; never raises for content (only OSError)."""
    ext = path.suffix.lower()
    try:
        return _inspect(path, ext)
    except Refused as r:
        return Verdict("", Issue(r.code, r.message, Location(file=file)), {})


def _inspect(path: pathlib.Path, ext: str) -> Verdict:
    with path.open("rb") as f:
        head = f.read(8192)
    if ext == ".xlsm":
        raise Refused(
            "file-macros",
            "macro-enabled workbooks (.xlsm) are not accepted; save the file as .xlsx",
        )
    if ext in ZIP_TYPES:
        if head.startswith(_OLE_MAGIC):
            if _ole_contains(path, _OLE_ENCRYPTED):
                raise Refused(
                    "file-encrypted",
                    "the workbook is password-protected; save a copy without a password",
                )
            raise Refused(
                "file-not-spreadsheet",
                f"the file is named {ext} but is an "
                "old-style .xls workbook; rename it to .xls or save it as .xlsx",
            )
        if not head.startswith(_ZIP_MAGIC):
            raise Refused(
                "file-not-spreadsheet",
                f"the file is named {ext} but is {_describe(head)}, not a spreadsheet",
            )
        return Verdict("zip", None, _check_zip(path, ext))
    if ext in OLE_TYPES:
        if not head.startswith(_OLE_MAGIC):
            raise Refused(
                "file-not-spreadsheet",
                f"the file is named .xls but is {_describe(head)}; give it its proper extension",
            )
        if _ole_contains(path, _OLE_ENCRYPTED):
            raise Refused(
                "file-encrypted",
                "the workbook is password-protected; save a copy without a password",
            )
        if _ole_contains(path, _OLE_MACROS):
            raise Refused("file-macros", "the workbook contains macros; save it as .xlsx")
        return Verdict("ole", None, {})
    if ext in TEXT_TYPES:
        kind = _describe(head)
        if kind != "a text file":
            raise Refused("file-not-spreadsheet", f"the file is named {ext} but is {kind}")
        return Verdict("text", None, {})
    raise Refused(
        "file-not-spreadsheet",
        f"files of type {ext or '(none)'} are not read; send .xlsx, .xls, .xlsb, .ods or .csv",
    )


def _ole_contains(path: pathlib.Path, needle: bytes) -> bool:
    # Stream names sit in the directory sectors as UTF-16; a scan finds them wherever the
    # directory is, without an OLE parser.
    tail = b""
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            if needle in tail + chunk[: len(needle)] or needle in chunk:
                return True
            tail = chunk[-len(needle) :]
    return False


def _check_zip(path: pathlib.Path, ext: str) -> dict[str, zipfile.ZipInfo]:
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, EOFError, ValueError, NotImplementedError) as exc:
        raise Refused(
            "file-corrupt", f"the file is damaged or truncated ({exc}); save it again and resend"
        ) from None
    if len(infos) > MAX_MEMBERS:
        raise Refused(
            "file-hostile", f"the archive has {len(infos)} parts; a workbook has a few dozen"
        )
    if sum(i.file_size for i in infos) > MAX_TOTAL:
        raise Refused(
            "file-hostile",
            "the workbook would expand to more than "
            f"{MAX_TOTAL >> 30} GiB; split the data into smaller files",
        )
    names = {i.filename: i for i in infos}
    for i in infos:
        if i.flag_bits & 1:
            raise Refused(
                "file-encrypted",
                "parts of the archive are encrypted; save a copy without a password",
            )
        if i.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise Refused(
                "file-hostile",
                f"part {i.filename} uses an unusual compression "
                "method; save the file again from the spreadsheet program",
            )
        if i.file_size > RATIO_FLOOR and i.file_size > MAX_RATIO * max(i.compress_size, 1):
            raise Refused(
                "file-hostile",
                f"part {i.filename} expands more than "
                f"{MAX_RATIO}:1, as a zip bomb does; the file is refused",
            )
        low = i.filename.lower()
        if low.endswith("vbaproject.bin") or (
            ext == ".ods" and low.startswith(("basic/", "scripts/"))
        ):
            raise Refused(
                "file-macros", "the workbook contains macros; save it as .xlsx without macros"
            )
    if ext == ".ods":
        if "content.xml" not in names:
            raise Refused(
                "file-not-spreadsheet",
                "the file is a zip archive but not an OpenDocument spreadsheet",
            )
    elif "[Content_Types].xml" not in names or not any(n.startswith("xl/workbook.") for n in names):
        raise Refused(
            "file-not-spreadsheet",
            f"the file is a zip archive but not an Excel "
            f"workbook (is it a Word or other Office file named {ext}?)",
        )
    for info in infos:
        if not is_worksheet(info.filename):
            inflate(path, info)
    return names


def is_worksheet(name: str) -> bool:
    return name.startswith("xl/worksheets/") and not name.endswith(".rels")


def inflate(
    path: pathlib.Path, info: zipfile.ZipInfo, sink: Callable[[bytes], None] | None = None
) -> None:
    """Inflate one member in chunks, feeding `sink`; refuse it if it lies or holds a DTD.

    The declared size is the hard limit: one byte more and the file is refused, however
    the deflate stream was built. Raises Refused.
    """
    with path.open("rb") as f:
        f.seek(info.header_offset)
        local = f.read(30)
        if len(local) < 30 or local[:4] != b"PK\x03\x04":
            raise Refused("file-corrupt", f"part {info.filename} is damaged")
        name_len, extra_len = struct.unpack("<HH", local[26:30])
        f.seek(info.header_offset + 30 + name_len + extra_len)
        left, produced, tail = info.compress_size, 0, b""
        inflater = zlib.decompressobj(-15) if info.compress_type == zipfile.ZIP_DEFLATED else None
        while left > 0:
            data = f.read(min(CHUNK, left))
            if not data:
                raise Refused("file-corrupt", f"the file is truncated inside {info.filename}")
            left -= len(data)
            while data:
                if inflater is None:
                    out, data = data, b""
                else:
                    try:
                        out = inflater.decompress(data, CHUNK)
                    except zlib.error:
                        raise Refused(
                            "file-corrupt",
                            f"part {info.filename} is damaged (its compressed data is invalid)",
                        ) from None
                    data = inflater.unconsumed_tail
                produced += len(out)
                if produced > info.file_size:
                    raise Refused(
                        "file-hostile",
                        f"part {info.filename} expands beyond its "
                        "declared size, as a zip bomb does; the file is refused",
                    )
                # The whole part is searched, not only its start: a DTD can hide behind a
                # long comment. The overlap catches a marker split across two chunks.
                window = tail + out
                if b"<!DOCTYPE" in window or b"<!ENTITY" in window:
                    raise Refused(
                        "file-hostile",
                        f"part {info.filename} declares a DTD "
                        "(entities), which spreadsheets never do; refused",
                    )
                tail = window[-8:]
                if sink is not None and out:
                    sink(out)
                if inflater is not None and inflater.eof:
                    break
        if produced != info.file_size or (inflater is not None and not inflater.eof):
            raise Refused("file-corrupt", f"part {info.filename} is damaged or truncated")


def refusal(exc: Refused, file: str, sheet: str | None = None) -> Issue:
    return Issue(exc.code, exc.message, Location(file=file, sheet=sheet))
