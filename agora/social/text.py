"""#hashtags and @mentions: finding them in a text, and showing the text with them linked (everything escaped)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from django.urls import NoReverseMatch, reverse
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

MAX_HASHTAGS = 30
MAX_MENTIONS = 20
# A hashtag is letters, digits and underscores (any script) with at least one letter; "#1" is not a tag.
HASHTAG_RE = re.compile(r"(?<![\w&#])#(\w{1,100})")
# Usernames are 3 to 30 letters, digits, dots, dashes or underscores (agora.accounts.services.USERNAME_RE).
MENTION_RE = re.compile(r"(?<![\w@.])@([A-Za-z0-9_.-]{3,30})")
TOKEN_RE = re.compile(f"{HASHTAG_RE.pattern}|{MENTION_RE.pattern}")


def _is_tag(name: str) -> bool:
    return any(ch.isalpha() for ch in name)


def parse_hashtags(text: str) -> list[str]:
    """Distinct hashtags in order of appearance, lower case, without "#" (at most MAX_HASHTAGS)."""
    found: list[str] = []
    for match in HASHTAG_RE.finditer(text or ""):
        name = match.group(1).lower()
        if _is_tag(name) and name not in found:
            found.append(name)
        if len(found) >= MAX_HASHTAGS:
            break
    return found


def mention_candidates(text: str) -> list[str]:
    """Distinct @names in order of appearance (lower case). "@ann." at the end of a sentence also tries "ann"."""
    found: list[str] = []
    for match in MENTION_RE.finditer(text or ""):
        name = match.group(1).lower()
        for candidate in (name, name.rstrip(".-")):
            if len(candidate) >= 3 and candidate not in found:
                found.append(candidate)
        if len(found) >= MAX_MENTIONS * 2:
            break
    return found


def hashtag_url(name: str) -> str:
    try:
        return reverse("web:hashtag", args=[name])
    except NoReverseMatch:
        return f"/search/?q=%23{name}"


def profile_url(username: str) -> str:
    try:
        return reverse("web:profile", args=[username])
    except NoReverseMatch:
        return f"/u/{username}/"


def render_text(
    text: str,
    *,
    mentioned: Iterable[str] = (),
    hashtag_link: Callable[[str], str] = hashtag_url,
    profile_link: Callable[[str], str] = profile_url,
) -> SafeString:
    """``text`` as HTML: escaped, line breaks kept, #hashtags linked, and @names linked only when they are in
    ``mentioned`` (the usernames actually stored as mentions; anyone else's @name stays plain text)."""
    people: Mapping[str, str] = {name.lower(): name for name in mentioned}
    parts: list[str] = []
    last = 0
    for match in TOKEN_RE.finditer(text or ""):
        parts.append(escape(text[last : match.start()]))
        tag, mention = match.group(1), match.group(2)
        if tag is not None and _is_tag(tag):
            parts.append(format_html('<a class="hashtag" href="{}">#{}</a>', hashtag_link(tag.lower()), tag))
        elif mention is not None and (
            (name := people.get(mention.lower())) or (name := people.get(mention.lower().rstrip(".-")))
        ):
            shown = mention[: len(name)]
            parts.append(format_html('<a class="mention" href="{}">@{}</a>', profile_link(name), shown))
            parts.append(escape(mention[len(name) :]))
        else:
            parts.append(escape(match.group(0)))
        last = match.end()
    parts.append(escape((text or "")[last:]))
    return mark_safe("".join(parts).replace("\n", "<br>"))  # every piece above is escaped


def post_html(post: Any) -> SafeString:
    """A post's text as HTML, linking the people it really mentions (uses prefetched ``mentions`` when present)."""
    names = [m.user.username for m in post.mentions.all() if m.comment_id is None]
    return render_text(post.text, mentioned=names)


def comment_html(comment: Any) -> SafeString:
    """A comment's text as HTML (``selectors.comments_of`` prefetches its mentions)."""
    return render_text(comment.text, mentioned=[m.user.username for m in comment.mentions.all()])
