"""What the word walker needs of a font: each code's width, text, and whether it separates
words (simple fonts with /Widths, the standard fonts, Type3, Type0 with Identity-H)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from leaktrace.media.pdf.text.operands import is_array, is_name, is_number, is_string
from leaktrace.media.pdf.text.standard_fonts import (
    AFM_TABLES,
    GLYPH_TEXT,
    LATIN_INDEX,
    NAME_OF,
    STANDARD_ALIASES,
    STANDARD_ENCODING,
)

_CMAP_RANGE_LIMIT = 65536


@dataclass(frozen=True)
class Font:
    """What the walker needs of a font: per code, the width in text space per unit of font
    size (None if unknown), whether it separates words, and its text (None if unknown)."""

    two_byte: bool
    simple: tuple[tuple[float | None, bool, str | None], ...] = ()
    widths: dict[int, float] | None = None
    default_width: float = 1.0
    unicode: dict[int, str] | None = None
    unsupported: str | None = None

    def glyph(self, code: int) -> tuple[float | None, bool, str | None]:
        if not self.two_byte:
            return self.simple[code]
        assert self.widths is not None and self.unicode is not None
        text = self.unicode.get(code)
        separator = bool(text) and text.isspace()  # type: ignore[union-attr]
        return self.widths.get(code, self.default_width), separator, text


def unsupported_font(reason: str) -> Font:
    return Font(two_byte=False, unsupported=reason)


def load_font(font: Any, name: str) -> Font:
    import pikepdf

    try:
        subtype = str(font.get("/Subtype", ""))
        if subtype == "/Type0":
            return _load_type0(font, name)
        if subtype in ("/Type1", "/MMType1", "/TrueType", "/Type3"):
            return _load_simple(font, name, subtype)
        return unsupported_font(f"font {name} of subtype {subtype or 'none'}")
    except (pikepdf.PdfError, ValueError, TypeError, AttributeError, KeyError) as exc:
        return unsupported_font(f"font {name} is malformed ({type(exc).__name__})")


def _load_simple(font: Any, name: str, subtype: str) -> Font:
    to_unicode = _to_unicode(font.get("/ToUnicode"))
    base_font = str(font.get("/BaseFont", "")).lstrip("/")
    base_font = base_font.split("+", 1)[1] if "+" in base_font[:7] else base_font
    names = _encoding_names(font.get("/Encoding"), STANDARD_ALIASES.get(base_font))
    texts: list[str | None] = []
    for code in range(256):
        text = to_unicode.get(code)
        if text is None and names[code] is not None:
            text = _glyph_text(names[code])
        texts.append(text)
    widths: list[float | None]
    if subtype == "/Type3":
        matrix = [float(v) for v in font.get("/FontMatrix", [0.001, 0, 0, 0.001, 0, 0])]
        if len(matrix) != 6 or matrix[1] != 0.0 or matrix[0] == 0.0:
            return unsupported_font(f"Type3 font {name} with a rotated or skewed FontMatrix")
        if font.get("/Widths") is None:
            return unsupported_font(f"font {name} has no widths")
        widths = _widths_array(font, matrix[0], 0.0)
    elif font.get("/Widths") is not None:
        descriptor = font.get("/FontDescriptor")
        missing = float(descriptor.get("/MissingWidth", 0)) if descriptor is not None else 0.0
        widths = _widths_array(font, 0.001, missing * 0.001)
    else:
        standard = STANDARD_ALIASES.get(base_font)
        if standard is None:
            return unsupported_font(f"font {name} has no widths")
        widths = [_afm_width(standard, text) for text in texts]
    glyphs = []
    for code in range(256):
        # Latin-1 only fills in the text of printable codes; it does not decide widths.
        text = texts[code]
        if text is None and (32 <= code < 127 or code >= 160):
            text = chr(code)
        glyphs.append((widths[code], bool(text) and text.isspace(), text))
    return Font(two_byte=False, simple=tuple(glyphs))


def _widths_array(font: Any, unit: float, missing: float) -> list[float | None]:
    first = int(font.get("/FirstChar", 0))
    values = [float(v) for v in font.Widths]
    widths: list[float | None] = [missing] * 256
    for offset, value in enumerate(values):
        code = first + offset
        if 0 <= code < 256:
            widths[code] = value * unit
    return widths


def _load_type0(font: Any, name: str) -> Font:
    import pikepdf

    encoding = font.get("/Encoding")
    if encoding == pikepdf.Name("/Identity-V"):
        return unsupported_font(f"vertical writing (font {name}, Identity-V)")
    if encoding != pikepdf.Name("/Identity-H"):
        label = str(encoding) if isinstance(encoding, pikepdf.Name) else "an embedded CMap"
        return unsupported_font(f"font {name} uses {label}, not Identity-H")
    descendants = font.get("/DescendantFonts")
    if descendants is None or len(descendants) != 1:
        return unsupported_font(f"font {name} has no descendant CIDFont")
    cid_font = descendants[0]
    default = float(cid_font.get("/DW", 1000)) * 0.001
    widths: dict[int, float] = {}
    entries = list(cid_font.get("/W", []))
    i = 0
    while i < len(entries):
        first = int(entries[i])
        if i + 1 < len(entries) and is_array(entries[i + 1]):
            for offset, value in enumerate(entries[i + 1]):
                widths[first + offset] = float(value) * 0.001
            i += 2
        elif i + 2 < len(entries):
            last, value = int(entries[i + 1]), float(entries[i + 2]) * 0.001
            for cid in range(first, min(last, first + _CMAP_RANGE_LIMIT) + 1):
                widths[cid] = value
            i += 3
        else:
            return unsupported_font(f"font {name} has a malformed /W array")
    return Font(
        two_byte=True,
        widths=widths,
        default_width=default,
        unicode=_to_unicode(font.get("/ToUnicode")),
    )


def _to_unicode(stream: Any) -> dict[int, str]:
    """A ToUnicode CMap's bfchar and bfrange mappings (an unreadable CMap maps nothing)."""
    import pikepdf

    if stream is None or not isinstance(stream, pikepdf.Stream):
        return {}
    mapping: dict[int, str] = {}
    try:
        # A CMap is PostScript, but its tokens are PDF's: pikepdf reads it as a content stream
        # whose "operators" endbfchar / endbfrange carry the pairs / triplets as operands.
        instructions = pikepdf.parse_content_stream(stream)
    except (pikepdf.PdfError, ValueError, TypeError):
        return {}
    for instruction in instructions:
        op = str(instruction.operator)
        operands = list(instruction.operands)
        if op == "endbfchar":
            for i in range(0, len(operands) - 1, 2):
                source, target = operands[i], operands[i + 1]
                if is_string(source) and is_string(target):
                    mapping[int.from_bytes(bytes(source), "big")] = _utf16(bytes(target))
        elif op == "endbfrange":
            for i in range(0, len(operands) - 2, 3):
                low, high, target = operands[i : i + 3]
                if not (is_string(low) and is_string(high)):
                    continue
                first = int.from_bytes(bytes(low), "big")
                last = min(int.from_bytes(bytes(high), "big"), first + _CMAP_RANGE_LIMIT)
                if is_array(target):
                    for offset, item in enumerate(list(target)[: last - first + 1]):
                        if is_string(item):
                            mapping[first + offset] = _utf16(bytes(item))
                elif is_string(target):
                    base = _utf16(bytes(target))
                    if not base:
                        continue
                    for offset in range(last - first + 1):
                        point = ord(base[-1]) + offset
                        if point > 0x10FFFF:
                            break
                        mapping[first + offset] = base[:-1] + chr(point)
    return mapping


def _utf16(data: bytes) -> str:
    return data.decode("utf-16-be", errors="replace")


def _encoding_names(encoding: Any, standard: str | None) -> list[str | None]:
    """Glyph names per code from /Encoding (base encoding plus /Differences)."""
    import pikepdf

    base: Any = None
    differences: list[Any] = []
    if isinstance(encoding, pikepdf.Name):
        base = str(encoding)
    elif isinstance(encoding, pikepdf.Dictionary):
        base = str(encoding.get("/BaseEncoding")) if "/BaseEncoding" in encoding else None
        differences = list(encoding.get("/Differences", []))
    if base is None and standard is not None:
        base = "/StandardEncoding"
    names = _base_encoding(base)
    code = 0
    for item in differences:
        if is_number(item):
            code = int(item)
        elif is_name(item):
            if 0 <= code < 256:
                names[code] = str(item)[1:]
            code += 1
    return names


def _base_encoding(base: str | None) -> list[str | None]:
    names: list[str | None] = [None] * 256
    if base == "/StandardEncoding":
        for code in range(32, 127):
            names[code] = NAME_OF.get(chr(code))
        for code, name in STANDARD_ENCODING.items():
            names[code] = name
    elif base in ("/WinAnsiEncoding", "/MacRomanEncoding"):
        codec = "cp1252" if base == "/WinAnsiEncoding" else "mac_roman"
        for code in range(32, 256):
            try:
                names[code] = NAME_OF.get(bytes([code]).decode(codec))
            except UnicodeDecodeError:
                continue
            # The PDF encodings name these codes after the glyph they draw.
            if base == "/WinAnsiEncoding" and code in (160, 173):
                names[code] = "space" if code == 160 else "hyphen"
            if base == "/MacRomanEncoding" and code == 202:
                names[code] = "space"
    return names


def _glyph_text(name: str) -> str | None:
    """A glyph name's text: common names, uniXXXX, uXXXX[XX]; None if not known."""
    text = GLYPH_TEXT.get(name)
    if text is not None:
        return text
    base = name.split(".", 1)[0]
    if base != name:
        return _glyph_text(base) if base else None
    try:
        if name.startswith("uni") and len(name) == 7:
            return chr(int(name[3:], 16))
        if name.startswith("u") and 5 <= len(name) <= 7:
            return chr(int(name[1:], 16))
    except ValueError:
        return None
    if "_" in name:
        parts = [_glyph_text(part) for part in name.split("_")]
        return None if None in parts else "".join(parts)  # type: ignore[arg-type]
    return None


def _afm_width(standard: str, text: str | None) -> float | None:
    if text is None:
        return None
    if standard == "Courier":
        return 0.6
    text = {"\xa0": " ", "\xad": "-"}.get(text, text)
    index = LATIN_INDEX.get(text)
    return None if index is None else AFM_TABLES[standard][index] * 0.001
