"""Griffe extension for the docs build: the docstrings' reST math becomes arithmatex math (rendered by KaTeX).

It also reads an ``Example:`` heading as griffe's ``Examples:`` section (see `_EXAMPLE_HEADING`).

The docstrings are written for ``help()`` and state their equations as reST: a ``.. math::`` directive (the
equation on the same line or the indented lines below) and inline ``:math:`...``` roles. mkdocstrings renders
Markdown, so this extension rewrites both, before the docstring is parsed, into ``$$ ... $$`` blocks and ``\\( ...
\\)`` spans, which ``pymdownx.arithmatex`` (generic mode) hands to KaTeX. Nothing else in the docstring changes.
"""

from __future__ import annotations

import re

import griffe

_INLINE_MATH = re.compile(r":math:`([^`]+)`")
_DIRECTIVE = re.compile(r"^(?P<indent>\s*)\.\. math::\s*(?P<first>.*)$")
# help() reads "Example:"; griffe's Google parser knows the plural as the doctest section (the singular would be an
# admonition whose ">>>" lines Markdown turns into nested quotes).
_EXAMPLE_HEADING = re.compile(r"^(\s*)Example:\s*$", flags=re.M)


def _blocks(text: str) -> str:
    lines, out, index = text.splitlines(), [], 0
    while index < len(lines):
        match = _DIRECTIVE.match(lines[index])
        if not match:
            out.append(lines[index])
            index += 1
            continue
        indent, body = match["indent"], [match["first"].strip()] if match["first"].strip() else []
        index += 1
        while index < len(lines) and (not lines[index].strip() or len(lines[index]) - len(lines[index].lstrip())
                                      > len(indent)):
            if lines[index].strip() or not body:
                body.append(lines[index].strip())
            else:  # a blank line after the body ends the directive
                break
            index += 1
        out += ["", f"{indent}$$", *(f"{indent}{line}" for line in body if line), f"{indent}$$", ""]
    return "\n".join(out)


def rst_math_to_markdown(text: str) -> str:
    """``.. math::`` blocks and ``:math:`` roles as arithmatex ``$$`` blocks and ``\\(...\\)`` spans."""
    return _INLINE_MATH.sub(lambda match: r"\(" + match[1] + r"\)", _blocks(text))


class ReSTMath(griffe.Extension):
    """Rewrite each object's docstring as it is loaded."""

    def on_instance(self, *, obj: griffe.Object, **kwargs) -> None:  # noqa: ARG002
        if obj.docstring is not None:
            obj.docstring.value = _EXAMPLE_HEADING.sub(r"\1Examples:", rst_math_to_markdown(obj.docstring.value))
