"""Markdown descriptions as safe HTML: no raw HTML, links only to http, https and mailto.

Everything else the UI shows is escaped by Jinja2; a wait's description is the one
text rendered as HTML, so it is rendered here with raw HTML disabled.
"""

from __future__ import annotations

import re

import markupsafe
from markdown_it import MarkdownIt

__all__ = ["render_markdown"]

_LINK_SCHEMES = re.compile(r"\s*(https?|mailto):", re.IGNORECASE)


class _SafeMarkdown(MarkdownIt):
    """CommonMark without raw HTML, and links only to http, https and mailto."""

    def validateLink(self, url: str) -> bool:
        """Refuse every link that is not http, https or mailto (relative ones too)."""
        return bool(_LINK_SCHEMES.match(url))


_markdown = _SafeMarkdown("commonmark", {"html": False})
_markdown.disable("image")


def render_markdown(text: str | None) -> markupsafe.Markup:
    """A wait's markdown description as safe HTML (raw HTML in it is shown as text).

    Args:
        text: The markdown, written by the flow's author (or anyone who starts runs).

    Returns:
        HTML that can be put in a page as it is.
    """
    if not text:
        return markupsafe.Markup("")
    tokens = _markdown.parse(text)
    for token in tokens:
        for child in token.children or ():
            if child.type == "link_open":
                child.attrSet("rel", "nofollow noopener noreferrer")
    html = _markdown.renderer.render(tokens, _markdown.options, {})
    return markupsafe.Markup(html)  # noqa: S704 - markdown-it escaped it; raw HTML is off
