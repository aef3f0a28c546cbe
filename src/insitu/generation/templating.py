"""Tag substitution in configuration text (pure): ``;name;`` → the value of param ``name``.

Only tags whose inner text is exactly a parameter name are replaced, each once, left to
right; substituted values are not scanned again. Text that merely looks like a tag
(``for(;;)``, ``a; b;``) is left untouched — SmartSim stripped the delimiters from any
``;word;`` that named no parameter, which corrupted files using the tag character.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from insitu import _checks as tc
from insitu.errors import InvalidArgumentError

DEFAULT_TAG = ";"
"""SmartSim's default tag."""


@dataclass(frozen=True)
class Substitution:
    """The result of configuring one text.

    ``used`` lists the parameters substituted at least once (in order of first use);
    ``unused`` the parameters that no tag named (in ``params`` order); ``count`` is the
    number of tags replaced.
    """

    text: str
    used: tuple[str, ...]
    unused: tuple[str, ...]
    count: int


def check_tag(tag: object) -> str:
    """A usable tag: a non-empty ``str`` without line breaks."""
    text = tc.check_str("tag", tag)
    if "\n" in text or "\r" in text:
        raise InvalidArgumentError(f"tag {text!r} must not contain a line break")
    return text


def substitute(text: str, params: Mapping[str, str], tag: str = DEFAULT_TAG) -> Substitution:
    """Replace every ``<tag><name><tag>`` in ``text`` by ``params[name]``."""
    tag = check_tag(tag)
    if not params:
        return Substitution(text, (), (), 0)
    # Longest names first: where a name contains the tag (";a;b;" with params "a" and
    # "a;b"), the longer reading wins instead of depending on dict order.
    names = sorted(params, key=len, reverse=True)
    pattern = re.compile(
        re.escape(tag) + "(" + "|".join(re.escape(n) for n in names) + ")" + re.escape(tag)
    )
    used: dict[str, None] = {}

    def replace(match: re.Match[str]) -> str:
        used[match.group(1)] = None
        return params[match.group(1)]

    result, count = pattern.subn(replace, text)
    unused = tuple(name for name in params if name not in used)
    return Substitution(result, tuple(used), unused, count)
