"""Data of the 14 standard fonts that PDF readers carry: glyph names, encodings and the
Adobe AFM widths of Helvetica and Times (Courier is monospaced)."""

from __future__ import annotations

# Glyph names of the Adobe standard Latin character set with their code points (hex), in
# code point order: the order of the AFM width rows below.
_LATIN_GLYPHS = (
    "space:20 exclam:21 quotedbl:22 numbersign:23 dollar:24 percent:25 ampersand:26 "
    "quotesingle:27 parenleft:28 parenright:29 asterisk:2a plus:2b comma:2c hyphen:2d period:2e "
    "slash:2f zero:30 one:31 two:32 three:33 four:34 five:35 six:36 seven:37 eight:38 nine:39 "
    "colon:3a semicolon:3b less:3c equal:3d greater:3e question:3f at:40 A:41 B:42 C:43 D:44 "
    "E:45 F:46 G:47 H:48 I:49 J:4a K:4b L:4c M:4d N:4e O:4f P:50 Q:51 R:52 S:53 T:54 U:55 V:56 "
    "W:57 X:58 Y:59 Z:5a bracketleft:5b backslash:5c bracketright:5d asciicircum:5e "
    "underscore:5f grave:60 a:61 b:62 c:63 d:64 e:65 f:66 g:67 h:68 i:69 j:6a k:6b l:6c m:6d "
    "n:6e o:6f p:70 q:71 r:72 s:73 t:74 u:75 v:76 w:77 x:78 y:79 z:7a braceleft:7b bar:7c "
    "braceright:7d asciitilde:7e exclamdown:a1 cent:a2 sterling:a3 currency:a4 yen:a5 "
    "brokenbar:a6 section:a7 dieresis:a8 copyright:a9 ordfeminine:aa guillemotleft:ab "
    "logicalnot:ac registered:ae macron:af degree:b0 plusminus:b1 twosuperior:b2 "
    "threesuperior:b3 acute:b4 mu:b5 paragraph:b6 periodcentered:b7 cedilla:b8 onesuperior:b9 "
    "ordmasculine:ba guillemotright:bb onequarter:bc onehalf:bd threequarters:be "
    "questiondown:bf Agrave:c0 Aacute:c1 Acircumflex:c2 Atilde:c3 Adieresis:c4 Aring:c5 AE:c6 "
    "Ccedilla:c7 Egrave:c8 Eacute:c9 Ecircumflex:ca Edieresis:cb Igrave:cc Iacute:cd "
    "Icircumflex:ce Idieresis:cf Eth:d0 Ntilde:d1 Ograve:d2 Oacute:d3 Ocircumflex:d4 Otilde:d5 "
    "Odieresis:d6 multiply:d7 Oslash:d8 Ugrave:d9 Uacute:da Ucircumflex:db Udieresis:dc "
    "Yacute:dd Thorn:de germandbls:df agrave:e0 aacute:e1 acircumflex:e2 atilde:e3 adieresis:e4 "
    "aring:e5 ae:e6 ccedilla:e7 egrave:e8 eacute:e9 ecircumflex:ea edieresis:eb igrave:ec "
    "iacute:ed icircumflex:ee idieresis:ef eth:f0 ntilde:f1 ograve:f2 oacute:f3 ocircumflex:f4 "
    "otilde:f5 odieresis:f6 divide:f7 oslash:f8 ugrave:f9 uacute:fa ucircumflex:fb udieresis:fc "
    "yacute:fd thorn:fe ydieresis:ff dotlessi:131 Lslash:141 lslash:142 OE:152 oe:153 "
    "Scaron:160 scaron:161 Ydieresis:178 Zcaron:17d zcaron:17e florin:192 circumflex:2c6 "
    "caron:2c7 breve:2d8 dotaccent:2d9 ring:2da ogonek:2db tilde:2dc hungarumlaut:2dd "
    "endash:2013 emdash:2014 quoteleft:2018 quoteright:2019 quotesinglbase:201a "
    "quotedblleft:201c quotedblright:201d quotedblbase:201e dagger:2020 daggerdbl:2021 "
    "bullet:2022 ellipsis:2026 perthousand:2030 guilsinglleft:2039 guilsinglright:203a "
    "fraction:2044 Euro:20ac trademark:2122 minus:2212 fi:fb01 fl:fb02 "
)
# Advance widths (glyph space, thousandths of an em) from the Adobe Core 14 AFM files, one per
# glyph of _LATIN_GLYPHS in that order. Oblique faces share their upright face's widths.
_AFM_WIDTHS = {
    "Helvetica": (
        "278 278 355 556 556 889 667 191 333 333 389 584 278 333 278 278 556 556 556 556 556 556 "
        "556 556 556 556 278 278 584 584 584 556 1015 667 667 722 722 667 611 778 722 278 500 667 "
        "556 833 722 778 667 778 722 667 611 722 667 944 667 667 611 278 278 278 469 556 333 556 "
        "556 500 556 556 278 556 556 222 222 500 222 833 556 556 556 556 333 500 278 556 500 722 "
        "500 500 500 334 260 334 584 333 556 556 556 556 260 556 333 737 370 556 584 737 333 400 "
        "584 333 333 333 556 537 278 333 333 365 556 834 834 834 611 667 667 667 667 667 667 1000 "
        "722 667 667 667 667 278 278 278 278 722 722 778 778 778 778 778 584 778 722 722 722 722 "
        "667 667 611 556 556 556 556 556 556 889 500 556 556 556 556 278 278 278 278 556 556 556 "
        "556 556 556 556 584 611 556 556 556 556 500 556 500 278 556 222 1000 944 667 500 667 611 "
        "500 556 333 333 333 333 333 333 333 333 556 1000 222 222 222 333 333 333 556 556 350 "
        "1000 1000 333 333 167 556 1000 584 500 500 "
    ),
    "Helvetica-Bold": (
        "278 333 474 556 556 889 722 238 333 333 389 584 278 333 278 278 556 556 556 556 556 556 "
        "556 556 556 556 333 333 584 584 584 611 975 722 722 722 722 667 611 778 722 278 556 722 "
        "611 833 722 778 667 778 722 667 611 722 667 944 667 667 611 333 278 333 584 556 333 556 "
        "611 556 611 556 333 611 611 278 278 556 278 889 611 611 611 611 389 556 333 611 556 778 "
        "556 556 500 389 280 389 584 333 556 556 556 556 280 556 333 737 370 556 584 737 333 400 "
        "584 333 333 333 611 556 278 333 333 365 556 834 834 834 611 722 722 722 722 722 722 1000 "
        "722 667 667 667 667 278 278 278 278 722 722 778 778 778 778 778 584 778 722 722 722 722 "
        "667 667 611 556 556 556 556 556 556 889 556 556 556 556 556 278 278 278 278 611 611 611 "
        "611 611 611 611 584 611 611 611 611 611 556 611 556 278 611 278 1000 944 667 556 667 611 "
        "500 556 333 333 333 333 333 333 333 333 556 1000 278 278 278 500 500 500 556 556 350 "
        "1000 1000 333 333 167 556 1000 584 611 611 "
    ),
    "Times-Roman": (
        "250 333 408 500 500 833 778 180 333 333 500 564 250 333 250 278 500 500 500 500 500 500 "
        "500 500 500 500 278 278 564 564 564 444 921 722 667 667 722 611 556 722 722 333 389 722 "
        "611 889 722 722 556 722 667 556 611 722 722 944 722 722 611 333 278 333 469 500 333 444 "
        "500 444 500 444 333 500 500 278 278 500 278 778 500 500 500 500 333 389 278 500 500 722 "
        "500 500 444 480 200 480 541 333 500 500 500 500 200 500 333 760 276 500 564 760 333 400 "
        "564 300 300 333 500 453 250 333 300 310 500 750 750 750 444 722 722 722 722 722 722 889 "
        "667 611 611 611 611 333 333 333 333 722 722 722 722 722 722 722 564 722 722 722 722 722 "
        "722 556 500 444 444 444 444 444 444 667 444 444 444 444 444 278 278 278 278 500 500 500 "
        "500 500 500 500 564 500 500 500 500 500 500 500 500 278 611 278 889 722 556 389 722 611 "
        "444 500 333 333 333 333 333 333 333 333 500 1000 333 333 333 444 444 444 500 500 350 "
        "1000 1000 333 333 167 500 980 564 556 556 "
    ),
    "Times-Bold": (
        "250 333 555 500 500 1000 833 278 333 333 500 570 250 333 250 278 500 500 500 500 500 500 "
        "500 500 500 500 333 333 570 570 570 500 930 722 667 722 722 667 611 778 778 389 500 778 "
        "667 944 722 778 611 778 722 556 667 722 722 1000 722 722 667 333 278 333 581 500 333 500 "
        "556 444 556 444 333 500 556 278 333 556 278 833 556 500 556 556 444 389 333 556 500 722 "
        "500 500 444 394 220 394 520 333 500 500 500 500 220 500 333 747 300 500 570 747 333 400 "
        "570 300 300 333 556 540 250 333 300 330 500 750 750 750 500 722 722 722 722 722 722 1000 "
        "722 667 667 667 667 389 389 389 389 722 722 778 778 778 778 778 570 778 722 722 722 722 "
        "722 611 556 500 500 500 500 500 500 722 444 444 444 444 444 278 278 278 278 500 556 500 "
        "500 500 500 500 570 500 556 556 556 556 500 556 500 278 667 278 1000 722 556 389 722 667 "
        "444 500 333 333 333 333 333 333 333 333 500 1000 333 333 333 500 500 500 500 500 350 "
        "1000 1000 333 333 167 500 1000 570 556 556 "
    ),
    "Times-Italic": (
        "250 333 420 500 500 833 778 214 333 333 500 675 250 333 250 278 500 500 500 500 500 500 "
        "500 500 500 500 333 333 675 675 675 500 920 611 611 667 722 611 611 722 722 333 444 667 "
        "556 833 667 722 611 722 611 500 556 722 611 833 611 556 556 389 278 389 422 500 333 500 "
        "500 444 500 444 278 500 500 278 278 444 278 722 500 500 500 500 389 389 278 500 444 667 "
        "444 444 389 400 275 400 541 389 500 500 500 500 275 500 333 760 276 500 675 760 333 400 "
        "675 300 300 333 500 523 250 333 300 310 500 750 750 750 500 611 611 611 611 611 611 889 "
        "667 611 611 611 611 333 333 333 333 722 667 722 722 722 722 722 675 722 722 722 722 722 "
        "556 611 500 500 500 500 500 500 500 667 444 444 444 444 444 278 278 278 278 500 500 500 "
        "500 500 500 500 675 500 500 500 500 500 444 500 444 278 556 278 944 667 500 389 556 556 "
        "389 500 333 333 333 333 333 333 333 333 500 889 333 333 333 556 556 556 500 500 350 889 "
        "1000 333 333 167 500 980 675 500 500 "
    ),
    "Times-BoldItalic": (
        "250 389 555 500 500 833 778 278 333 333 500 570 250 333 250 278 500 500 500 500 500 500 "
        "500 500 500 500 333 333 570 570 570 500 832 667 667 667 722 667 667 722 778 389 500 667 "
        "611 889 722 722 611 722 667 556 611 722 667 889 667 611 611 333 278 333 570 500 333 500 "
        "500 444 500 444 333 500 556 278 278 500 278 778 556 500 500 500 389 389 278 556 444 667 "
        "500 444 389 348 220 348 570 389 500 500 500 500 220 500 333 747 266 500 606 747 333 400 "
        "570 300 300 333 576 500 250 333 300 300 500 750 750 750 500 667 667 667 667 667 667 944 "
        "667 667 667 667 667 389 389 389 389 722 722 722 722 722 722 722 570 722 722 722 722 722 "
        "611 611 500 500 500 500 500 500 500 722 444 444 444 444 444 278 278 278 278 500 556 500 "
        "500 500 500 500 570 500 556 556 556 556 444 500 444 278 611 278 944 722 556 389 611 611 "
        "389 500 333 333 333 333 333 333 333 333 500 1000 333 333 333 500 500 500 500 500 350 "
        "1000 1000 333 333 167 500 1000 606 556 556 "
    ),
}
# StandardEncoding where it differs from ASCII (codes 32-126 are ASCII otherwise).
_STANDARD_ENCODING_TEXT = (
    "39:quoteright 96:quoteleft 161:exclamdown 162:cent 163:sterling 164:fraction 165:yen "
    "166:florin 167:section 168:currency 169:quotesingle 170:quotedblleft 171:guillemotleft "
    "172:guilsinglleft 173:guilsinglright 174:fi 175:fl 177:endash 178:dagger 179:daggerdbl "
    "180:periodcentered 182:paragraph 183:bullet 184:quotesinglbase 185:quotedblbase "
    "186:quotedblright 187:guillemotright 188:ellipsis 189:perthousand 191:questiondown "
    "193:grave 194:acute 195:circumflex 196:tilde 197:macron 198:breve 199:dotaccent "
    "200:dieresis 202:ring 203:cedilla 205:hungarumlaut 206:ogonek 207:caron 208:emdash 225:AE "
    "227:ordfeminine 232:Lslash 233:Oslash 234:OE 235:ordmasculine 241:ae 245:dotlessi "
    "248:lslash 249:oslash 250:oe 251:germandbls "
)
STANDARD_ENCODING: dict[int, str] = {
    int(code): name for code, name in (item.split(":") for item in _STANDARD_ENCODING_TEXT.split())
}

# Glyph names outside the Latin set that producers commonly put in /Differences.
_EXTRA_GLYPHS = (
    "Euro:20ac minus:2212 ff:fb00 ffi:fb03 ffl:fb04 nbspace:a0 sfthyphen:ad fraction:2044"
)

GLYPH_TEXT: dict[str, str] = {
    name: chr(int(point, 16))
    for name, point in (item.split(":") for item in (_LATIN_GLYPHS + _EXTRA_GLYPHS).split())
}
NAME_OF: dict[str, str] = {text: name for name, text in GLYPH_TEXT.items() if name != "nbspace"}
LATIN_INDEX: dict[str, int] = {
    chr(int(item.split(":")[1], 16)): index for index, item in enumerate(_LATIN_GLYPHS.split())
}
AFM_TABLES: dict[str, tuple[int, ...]] = {
    font: tuple(int(v) for v in row.split()) for font, row in _AFM_WIDTHS.items()
}

# Base font names (subset prefix removed) that readers draw with a standard font, mapped to the
# AFM table giving their widths; the obliques have their upright face's widths.
STANDARD_ALIASES: dict[str, str] = {
    **dict.fromkeys(
        ["Helvetica", "Helvetica-Oblique", "Arial", "Arial,Italic", "ArialMT", "Arial-ItalicMT"],
        "Helvetica",
    ),
    **dict.fromkeys(
        [
            "Helvetica-Bold",
            "Helvetica-BoldOblique",
            "Arial,Bold",
            "Arial,BoldItalic",
            "Arial-BoldMT",
            "Arial-BoldItalicMT",
        ],
        "Helvetica-Bold",
    ),
    **dict.fromkeys(["Times-Roman", "TimesNewRoman", "TimesNewRomanPSMT"], "Times-Roman"),
    **dict.fromkeys(["Times-Bold", "TimesNewRoman,Bold", "TimesNewRomanPS-BoldMT"], "Times-Bold"),
    **dict.fromkeys(
        ["Times-Italic", "TimesNewRoman,Italic", "TimesNewRomanPS-ItalicMT"], "Times-Italic"
    ),
    **dict.fromkeys(
        ["Times-BoldItalic", "TimesNewRoman,BoldItalic", "TimesNewRomanPS-BoldItalicMT"],
        "Times-BoldItalic",
    ),
    **dict.fromkeys(
        [
            "Courier",
            "Courier-Bold",
            "Courier-Oblique",
            "Courier-BoldOblique",
            "CourierNew",
            "CourierNew,Bold",
            "CourierNew,Italic",
            "CourierNew,BoldItalic",
            "CourierNewPSMT",
        ],
        "Courier",
    ),
}
