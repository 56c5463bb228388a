"""Fixtures shared by every test: a clean cache, media in a temporary folder, API clients."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from PIL import Image


@pytest.fixture(autouse=True)
def _isolated(settings: Any, tmp_path: Any) -> Iterator[None]:
    settings.MEDIA_ROOT = tmp_path / "media"
    cache.clear()
    yield
    cache.clear()


def make_image_bytes(size: tuple[int, int] = (64, 48), fmt: str = "JPEG", color: str = "teal") -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, fmt)
    return buf.getvalue()


@pytest.fixture
def image_bytes() -> Callable[..., bytes]:
    return make_image_bytes


class ApiClient(Client):
    """A test client that speaks JSON to /api/v1/ and sends a bearer token when given one."""

    def __init__(self, token: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.token = token

    def _headers(self, headers: dict[str, str] | None) -> dict[str, str]:
        merged = dict(headers or {})
        if self.token:
            merged.setdefault("Authorization", f"Bearer {self.token}")
        return merged

    def call(self, method: str, path: str, data: Any = None, headers: dict[str, str] | None = None, **kw: Any) -> Any:
        url = path if path.startswith("/") else f"/api/v1/{path}"
        fn = getattr(super(), method.lower())
        if method.upper() == "GET":
            return fn(url, data or {}, headers=self._headers(headers), **kw)
        if "content_type" not in kw and not kw.get("multipart"):
            kw["content_type"] = "application/json"
        kw.pop("multipart", None)
        return fn(url, data, headers=self._headers(headers), **kw)


@pytest.fixture
def api() -> ApiClient:
    return ApiClient()


@pytest.fixture
def api_as() -> Callable[[Any], ApiClient]:
    from agora.accounts.services import issue_token

    def make(user: Any) -> ApiClient:
        _, raw = issue_token(user=user, name="test")
        return ApiClient(token=raw)

    return make
