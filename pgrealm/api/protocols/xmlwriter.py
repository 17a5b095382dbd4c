"""A streaming XML writer for the query and EC2 responses.

It writes exactly what ``ElementTree.tostring(root, encoding="unicode")`` wrote for the
same elements (``<Tag />`` for an element with neither text nor children, the same
escaping), without building a tree first: building and then serializing ~8,000
``Element`` objects was most of the server's time for describe-db-instances at 100
instances. ``mark()`` and ``since()`` cut out the text of one element so that a
serializer can cache it (:mod:`pgrealm.api.fragments`) and ``raw()`` splices it back.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

__all__ = ["XmlWriter", "escape_attribute", "escape_text"]

log = logging.getLogger(__name__)


def escape_text(text: str) -> str:
    # the membership tests first: nearly every value has nothing to escape
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    return text


_ATTRIBUTE_ESCAPES = (('"', "&quot;"), ("\r", "&#13;"), ("\n", "&#10;"), ("\t", "&#09;"))


def escape_attribute(text: str) -> str:
    # CR, LF and tab as character references, so a parser's normalisation keeps them
    text = escape_text(text)
    for char, reference in _ATTRIBUTE_ESCAPES:
        if char in text:
            text = text.replace(char, reference)
    return text


class XmlWriter:
    """Elements opened and closed in document order; ``getvalue()`` is the text so far."""

    def __init__(self) -> None:
        self._parts: list[str] = []
        # (tag, index of its start tag in _parts, the start tag's inside) per open element
        self._open: list[tuple[str, int, str]] = []

    def open(self, tag: str, attributes: Mapping[str, str] | None = None) -> None:
        inside = tag
        if attributes:
            inside += "".join(f' {k}="{escape_attribute(v)}"' for k, v in attributes.items())
        self._open.append((tag, len(self._parts), inside))
        self._parts.append(f"<{inside}>")

    def close(self) -> None:
        tag, start, inside = self._open.pop()
        if start == len(self._parts) - 1:  # nothing written inside: an empty element
            self._parts[start] = f"<{inside} />"
        else:
            self._parts.append(f"</{tag}>")

    def leaf(self, tag: str, text: str) -> None:
        """An element holding only text (``<Tag />`` when the text is empty)."""
        if text:
            self._parts.append(f"<{tag}>{escape_text(text)}</{tag}>")
        else:
            self._parts.append(f"<{tag} />")

    def raw(self, fragment: str) -> None:
        """Text written earlier by a writer (``since``), as it was."""
        self._parts.append(fragment)

    def mark(self) -> int:
        return len(self._parts)

    def since(self, mark: int) -> str:
        """The text written after ``mark``; every element opened since must be closed."""
        return "".join(self._parts[mark:])

    def getvalue(self) -> str:
        if self._open:
            raise ValueError(f"unclosed elements: {[tag for tag, _, _ in self._open]}")
        return "".join(self._parts)
