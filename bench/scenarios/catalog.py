"""Catalog reads over HTTP: the product list and search (API and HTML), the product page, and the
health check as the ceiling of the framework itself on the same server."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any
from urllib.parse import quote

from bench.loadgen import Target

# Requests cycle through this many products and words, so the figures are not those of one
# row that happens to sit in every cache.
SAMPLE_PRODUCTS = 50
SAMPLE_WORDS = 5
# A shopper's word is specific: skip words found in more than this share of the titles.
MAX_WORD_SHARE = 0.10
WORD_RE = re.compile(r"[^\W\d_]{4,}")


def plan() -> dict[str, Any]:
    """Picks, from the seeded data, the products and search words the load cycles through."""
    from django.urls import reverse

    from agora.catalog.selectors import public_products, search_products

    published = public_products().select_related("shop").order_by("id")
    total = published.count()
    if total == 0:
        raise SystemExit("The catalog scenario needs published products: seed the database first.")
    # Evenly spaced over the catalogue, so products with few and many variants and photos are all hit.
    step = max(1, total // SAMPLE_PRODUCTS)
    sample = list(published[: step * SAMPLE_PRODUCTS : step])

    titles = list(published.values_list("title", flat=True))
    frequency = Counter(word for title in titles for word in {w.lower() for w in WORD_RE.findall(title)})
    limit = max(1, int(len(titles) * MAX_WORD_SHARE))
    words = [w for w, n in frequency.most_common() if n <= limit][:SAMPLE_WORDS] or ["a"]

    return {
        "published_products": total,
        "product_ids": [p.pk for p in sample],
        "product_pages": [
            reverse("web:product", kwargs={"shop_slug": p.shop.slug, "product_slug": p.slug}) for p in sample
        ],
        "words": [{"word": w, "matches": search_products(q=w).count()} for w in words],
    }


def describe(plan: dict[str, Any]) -> str:
    words = ", ".join(f"“{w['word']}” ({w['matches']} products)" for w in plan["words"])
    return (
        f"{plan['published_products']} published products; product rows cycle through "
        f"{len(plan['product_ids'])} products spread over the catalogue; search words: {words}."
    )


def targets(plan: dict[str, Any]) -> list[Target]:
    words = [quote(w["word"]) for w in plan["words"]]
    return [
        Target("/healthz", ["/healthz"], note="ceiling: no database"),
        Target("/api/v1/products?page=1", ["/api/v1/products?page=1"], note="API list, newest first"),
        Target(
            "/api/v1/products?q=<word>&sort=price_asc",
            [f"/api/v1/products?q={w}&sort=price_asc" for w in words],
            note="API search",
        ),
        Target("/api/v1/products/<id>", [f"/api/v1/products/{pk}" for pk in plan["product_ids"]], note="API detail"),
        Target("/", ["/"], note="HTML home"),
        Target("/search/?q=<word>", [f"/search/?q={w}" for w in words], note="HTML search"),
        Target("/s/<shop>/p/<product>/", plan["product_pages"], note="HTML product page (counts a view)"),
    ]
