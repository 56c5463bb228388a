"""Template helpers shared by the storefront and the dashboard: ``{% load web_tags %}``."""

from __future__ import annotations

from django import template
from django.conf import settings
from django.template.base import Parser, Token
from django.template.context import Context
from django.template.loader_tags import BLOCK_CONTEXT_KEY, BlockContext
from django.utils import translation
from django.utils.safestring import SafeString, mark_safe

from agora.catalog import selectors as catalog_selectors
from agora.catalog.models import Category
from agora.web.templatetags.money import money

register = template.Library()
register.filter("money", money)


class ReuseBlockNode(template.Node):
    def __init__(self, name: str) -> None:
        self.name = name

    def render(self, context: Context) -> SafeString:
        block_context: BlockContext | None = context.render_context.get(BLOCK_CONTEXT_KEY)
        if block_context is None:
            return mark_safe("")
        block = block_context.get_block(self.name)
        if block is None:
            return mark_safe("")
        # BlockNode.render takes the effective override from the block context itself, so
        # child templates and {{ block.super }} behave as they do at the block's own place.
        return mark_safe(" ".join(block.render(context).split()))


@register.tag
def reuse_block(parser: Parser, token: Token) -> ReuseBlockNode:
    """``{% reuse_block "title" %}``: the rendered content of a block defined elsewhere in the page.

    Django forbids a block twice in one template; the page title is needed in <title> and in og:title.
    Whitespace is collapsed so the result fits an attribute.
    """
    bits = token.split_contents()
    if len(bits) != 2:
        raise template.TemplateSyntaxError("reuse_block takes one argument: the block name")
    return ReuseBlockNode(bits[1].strip("\"'"))


@register.simple_tag
def category_menu() -> list[Category]:
    """Top-level categories with ``children_list``: one cached query, shared by every page."""
    return catalog_selectors.category_tree()


@register.simple_tag
def language_choices() -> list[tuple[str, str]]:
    """Every language of ``LANGUAGES`` named in itself ("English", "Русский"), for the language switcher.

    Taken from Agora's own catalogues rather than Django's LANG_INFO, which lacks some of the
    languages to come (Tagalog).
    """
    choices = []
    for code, name in settings.LANGUAGES:
        with translation.override(code):
            choices.append((code, str(name)))
    return choices


@register.filter
def absolute(url: str | None) -> str:
    """A site-absolute URL for OpenGraph and JSON-LD (a media path becomes https://host/media/…)."""
    if not url:
        return ""
    if url.startswith(("http://", "https://")):
        return url
    return settings.SITE_URL + url
