"""Reading a user's text file for a task, with one clear bad-input message for each way it can be unusable."""
from __future__ import annotations

from pathlib import Path

from benchsuite import BenchInputError


def read_text_file(path: str | None, option: str) -> str:
    """The UTF-8 text of `path` (a leading byte-order mark dropped); `option` names the option in messages."""
    if path is None or not path.strip():
        raise BenchInputError(f"{option}: no file given; name one with --task-opt {option}=FILE")
    file = Path(path).expanduser()
    if not file.exists():
        raise BenchInputError(f"{option}={path}: no such file")
    if file.is_dir():
        raise BenchInputError(f"{option}={path}: is a folder; expected a text file")
    try:
        raw = file.read_bytes()
    except OSError as exc:
        raise BenchInputError(f"{option}={path}: cannot be read ({exc.strerror or exc})") from None
    if not raw:
        raise BenchInputError(f"{option}={path}: the file is empty; expected UTF-8 text")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BenchInputError(f"{option}={path}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start} "
                              "is not valid UTF-8); convert the file to UTF-8, e.g. with iconv") from None
