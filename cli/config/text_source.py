"""The text of nango.yaml: UTF-8, or UTF-16/32 announced by a byte order mark, as YAML allows."""

from __future__ import annotations

import codecs
from pathlib import Path

from cli.config.issues import ConfigError, ConfigIssue

# Longest marks first: the UTF-32 little-endian mark starts with the UTF-16 one.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32", "UTF-32"),
    (codecs.BOM_UTF32_BE, "utf-32", "UTF-32"),
    (codecs.BOM_UTF8, "utf-8-sig", "UTF-8"),
    (codecs.BOM_UTF16_LE, "utf-16", "UTF-16"),
    (codecs.BOM_UTF16_BE, "utf-16", "UTF-16"),
)
_ENCODING_HINT = "Save the file as UTF-8 (the encoding every editor offers)."


def read_config_text(file: Path) -> str:
    """The decoded text of `file`; a missing, unreadable or undecodable file is a `ConfigError`."""
    try:
        raw = file.read_bytes()
    except FileNotFoundError as exc:
        issue = ConfigIssue("file_not_found", f"no nango.yaml config found at {file}", file=file)
        raise ConfigError(file, [issue]) from exc
    except OSError as exc:
        reason = exc.strerror or str(exc)
        issue = ConfigIssue("file_unreadable", f"cannot read {file}: {reason}", file=file)
        raise ConfigError(file, [issue]) from exc
    return decode_config(raw, file)


def decode_config(raw: bytes, file: Path | None = None) -> str:
    """Decode by the byte order mark, else as UTF-8; say where the text stops being decodable."""
    codec, label = "utf-8", "UTF-8"
    for bom, bom_codec, bom_label in _BOMS:
        if raw.startswith(bom):
            codec, label = bom_codec, bom_label
            break
    try:
        return raw.decode(codec)
    except UnicodeDecodeError as exc:
        raise ConfigError(file, [_undecodable(raw, exc, label, file)]) from None


def _undecodable(raw: bytes, exc: UnicodeDecodeError, label: str, file: Path | None) -> ConfigIssue:
    bad = raw[exc.start : exc.end].hex(" ")
    issue = ConfigIssue(
        "invalid_encoding",
        f"The file is not valid {label}: the bytes {bad} cannot be decoded ({exc.reason})",
        hint=_ENCODING_HINT,
    )
    if label != "UTF-8":
        return issue.at(None, None, file)
    before = raw[: exc.start]
    line = before.count(b"\n") + 1
    line_start = before.rfind(b"\n") + 1
    column = len(before[line_start:].decode("utf-8", errors="replace")) + 1
    return issue.at(line, column, file)
