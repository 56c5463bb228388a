"""What every page shows of the shopper's cart (the count in the header)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest


def cart(request: HttpRequest) -> dict[str, Any]:
    return {}
