"""Uploaded pictures: checked with Pillow, re-encoded (which drops EXIF and anything hidden), thumbnailed."""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.core.files.base import ContentFile
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from agora.core.errors import ValidationFailed

ALLOWED_FORMATS = {"JPEG", "PNG", "WEBP", "GIF"}


@dataclass(frozen=True)
class CleanImage:
    content: ContentFile[bytes]
    width: int
    height: int


def _read(upload: object, field: str) -> bytes:
    size = getattr(upload, "size", None)
    limit = settings.AGORA_MAX_IMAGE_BYTES
    if size is not None and size > limit:
        raise ValidationFailed(
            _("The image is too large (%(size)d KiB); the limit is %(limit)d KiB.")
            % {"size": size // 1024, "limit": limit // 1024},
            code="image_too_large",
            field=field,
        )
    data = upload.read() if hasattr(upload, "read") else bytes(upload)  # type: ignore[call-overload]
    if len(data) > limit:
        raise ValidationFailed(
            _("The image is too large; the limit is %(limit)d KiB.") % {"limit": limit // 1024},
            code="image_too_large",
            field=field,
        )
    if not data:
        raise ValidationFailed(_("The file is empty."), code="invalid_image", field=field)
    return data


def clean_image(upload: object, *, field: str = "image", max_side: int = 2000) -> CleanImage:
    """Check that ``upload`` is a real picture and return it re-encoded, at most ``max_side`` pixels wide/high."""
    data = _read(upload, field)
    try:
        with Image.open(io.BytesIO(data)) as probe:
            fmt = probe.format
            width, height = probe.size
            probe.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise ValidationFailed(
            _("The file is not an image we can read. Upload a JPEG, PNG, WebP or GIF picture."),
            code="invalid_image",
            field=field,
        ) from None
    if fmt not in ALLOWED_FORMATS:
        raise ValidationFailed(
            _("%(format)s images are not accepted. Upload a JPEG, PNG, WebP or GIF picture.") % {"format": fmt},
            code="invalid_image",
            field=field,
        )
    if width * height > settings.AGORA_MAX_IMAGE_PIXELS:
        raise ValidationFailed(
            _("The image is %(width)d×%(height)d pixels; at most %(max)s pixels are accepted.")
            % {
                "width": width,
                "height": height,
                "max": number_format(settings.AGORA_MAX_IMAGE_PIXELS, force_grouping=True),
            },
            code="image_too_large",
            field=field,
        )
    with Image.open(io.BytesIO(data)) as source:
        picture: Image.Image = ImageOps.exif_transpose(source) or source
        picture.thumbnail((max_side, max_side))
        out = io.BytesIO()
        if picture.mode in ("RGBA", "LA", "P"):
            picture = picture.convert("RGBA")
            picture.save(out, "PNG", optimize=True)
            ext = "png"
        else:
            picture = picture.convert("RGB")
            picture.save(out, "JPEG", quality=88, optimize=True)
            ext = "jpg"
        size = picture.size
    return CleanImage(ContentFile(out.getvalue(), name=f"{uuid.uuid4().hex}.{ext}"), size[0], size[1])


def make_thumbnail(data: bytes, side: int) -> ContentFile[bytes]:
    """A JPEG thumbnail that fits in a ``side``×``side`` square."""
    with Image.open(io.BytesIO(data)) as source:
        picture = source.convert("RGB")
        picture.thumbnail((side, side))
        out = io.BytesIO()
        picture.save(out, "JPEG", quality=82, optimize=True)
    return ContentFile(out.getvalue(), name=f"{uuid.uuid4().hex}_{side}.jpg")
