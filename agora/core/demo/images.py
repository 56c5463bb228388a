"""Pictures for the demo, drawn locally with Pillow: a colour gradient, a simple shape and a few letters."""

from __future__ import annotations

import io
from functools import cache

from PIL import Image, ImageDraw, ImageFont, ImageOps

from agora.core.demo.plan import ImageSpec

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


@cache
def _font(size: int) -> Font:
    # Pillow ships a scalable font (load_default with a size needs FreeType, which its wheels include).
    try:
        return ImageFont.load_default(size=size)
    except (OSError, ValueError):  # pragma: no cover - Pillow built without FreeType
        return ImageFont.load_default()


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    value = hex_colour.lstrip("#")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


def _ink(background: tuple[int, int, int]) -> tuple[int, int, int]:
    """Dark text on light colours, light text on dark ones."""
    r, g, b = background
    return (25, 25, 25) if (r * 299 + g * 587 + b * 114) / 1000 > 140 else (250, 250, 250)


def render(spec: ImageSpec) -> bytes:
    """The picture ``spec`` describes, as JPEG bytes."""
    width, height = spec.size
    start, end, accent = (_rgb(c) for c in spec.colours)
    side = max(width, height)
    # Rotate a gradient larger than needed and keep its middle, so no corner is left unpainted.
    mask = Image.linear_gradient("L").resize((363, 363)).rotate(spec.angle).crop((53, 53, 309, 309))
    mask = mask.resize((side, side))
    img = Image.composite(Image.new("RGB", (side, side), start), Image.new("RGB", (side, side), end), mask)
    img = ImageOps.fit(img, (width, height)) if (width, height) != (side, side) else img
    draw = ImageDraw.Draw(img)
    cx, cy, r = width / 2, height / 2, min(width, height) * 0.3
    box = (cx - r, cy - r, cx + r, cy + r)
    if spec.shape == "circle":
        draw.ellipse(box, fill=accent)
    elif spec.shape == "ring":
        draw.ellipse(box, outline=accent, width=max(4, int(r / 6)))
    elif spec.shape == "square":
        draw.rounded_rectangle(box, radius=r / 4, fill=accent)
    elif spec.shape == "diamond":
        draw.polygon([(cx, cy - r * 1.2), (cx + r * 1.2, cy), (cx, cy + r * 1.2), (cx - r * 1.2, cy)], fill=accent)
    elif spec.shape == "triangle":
        draw.polygon([(cx, cy - r * 1.1), (cx + r * 1.1, cy + r * 0.8), (cx - r * 1.1, cy + r * 0.8)], fill=accent)
    else:  # stripes, with a plain disc in the middle so the letters stay readable
        step = max(8, width // 10)
        for x in range(-height, width, step * 2):
            draw.line([(x, height), (x + height, 0)], fill=accent, width=step // 2)
        draw.ellipse(box, fill=start)
    text_colour = _ink(accent if spec.shape in {"circle", "square", "diamond", "triangle"} else start)
    draw.text((cx, cy), spec.text, font=_font(int(r * 0.9)), anchor="mm", fill=text_colour)
    if spec.caption:
        band = height // 9
        draw.rectangle((0, height - band, width, height), fill=(248, 246, 242))
        font = _font(max(12, band // 2))
        draw.text((cx, height - band / 2), spec.caption, font=font, anchor="mm", fill=(40, 40, 40))
    out = io.BytesIO()
    img.save(out, "JPEG", quality=85)
    return out.getvalue()
