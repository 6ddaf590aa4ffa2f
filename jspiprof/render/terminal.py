"""Text from a trace made safe to print on a terminal: control characters are shown escaped, never sent."""

from __future__ import annotations

import re

_UNPRINTABLE = re.compile(
    "[\x00-\x1f\x7f-\x9f"  # C0 controls (ESC, BEL, newline...), DEL, C1 controls (CSI, OSC...)
    "\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb"  # invisible and bidi formats
    "\u2028\u2029"  # line and paragraph separators
    "\ud800-\udfff"  # lone surrogates
    "\U000e0000-\U000e007f]"  # tags
)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def printable(text: str) -> str:
    """`text` with each control, invisible format or separator character written as its escape (ESC as `\\x1b`,
    a newline as `\\x0a`, U+2028 as `\\u2028`): what a trace holds cannot clear the screen, set the terminal's title
    or reorder a line."""
    return _UNPRINTABLE.sub(_escape, text)
