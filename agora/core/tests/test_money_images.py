"""Core helpers every app leans on: money, uploaded pictures, text checks and rate limits."""

from __future__ import annotations

import io
import struct
import zlib
from decimal import Decimal

import pytest
from django.core.files.base import ContentFile
from PIL import Image

from agora.core import ratelimit
from agora.core.errors import RateLimited, ValidationFailed
from agora.core.images import clean_image, make_thumbnail
from agora.core.money import CURRENCIES, check_currency, format_money, to_amount
from agora.core.text import clean_text


# --- money -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("amount", "currency", "shown"),
    [
        (Decimal("1234.5"), "EUR", "€1,234.50"),
        (Decimal("0"), "USD", "$0.00"),
        (Decimal("1200"), "JPY", "¥1,200"),
        (Decimal("1250000"), "KRW", "₩1,250,000"),
        (Decimal("5990"), "RUB", "₽5,990.00"),
        (Decimal("1.25"), "KWD", "KD1.250"),
        (Decimal("99.9"), "CHF", "99.90 CHF"),
        (Decimal("12"), "XYZ", "12.00 XYZ"),
    ],
)
def test_format_money_uses_the_currency_symbol_and_decimals(amount, currency, shown):
    assert format_money(amount, currency) == shown


def test_format_money_of_nothing_is_empty():
    assert format_money(None, "EUR") == ""


@pytest.mark.parametrize(
    ("value", "currency", "expected"),
    [
        ("19.9", "EUR", Decimal("19.90")),
        ("  7 ", "EUR", Decimal("7.00")),
        (Decimal("2.50"), "GBP", Decimal("2.50")),
        (3, "EUR", Decimal("3.00")),
        (0.1, "EUR", Decimal("0.10")),  # a float is read from its shortest text, never its binary value
        ("1200", "JPY", Decimal("1200")),
        ("1200.00", "JPY", Decimal("1200")),
        ("1.250", "KWD", Decimal("1.250")),
        ("0.01", "EUR", Decimal("0.01")),
        ("999999999.99", "EUR", Decimal("999999999.99")),
        ("5", "eur", Decimal("5.00")),
    ],
)
def test_to_amount_accepts_amounts_the_currency_can_hold(value, currency, expected):
    amount = to_amount(value, currency)
    assert amount == expected
    assert amount.as_tuple().exponent == -CURRENCIES[currency.upper()][0]


@pytest.mark.parametrize("value", ["-0", "-0.00", "+0", "-.0"])
def test_a_negative_zero_comes_back_as_plain_zero(value):
    amount = to_amount(value, "EUR")

    assert str(amount) == "0.00"
    assert format_money(amount, "EUR") == "€0.00"


@pytest.mark.parametrize(
    ("value", "currency", "code"),
    [
        ("NaN", "EUR", "invalid_amount"),
        ("1e3", "EUR", "invalid_amount"),
        ("1_000", "EUR", "invalid_amount"),
        ("\u0661\u0662", "EUR", "invalid_amount"),
        ("nan", "EUR", "invalid_amount"),
        ("sNaN", "EUR", "invalid_amount"),
        ("Infinity", "EUR", "invalid_amount"),
        ("-Infinity", "EUR", "invalid_amount"),
        (float("inf"), "EUR", "invalid_amount"),
        (float("nan"), "EUR", "invalid_amount"),
        ("", "EUR", "invalid_amount"),
        ("abc", "EUR", "invalid_amount"),
        ("12,50", "EUR", "invalid_amount"),
        ("0x10", "EUR", "invalid_amount"),
        (None, "EUR", "invalid_amount"),
        ("-1", "EUR", "negative_amount"),
        ("-0.01", "EUR", "negative_amount"),
        ("100000000000", "EUR", "amount_too_large"),
        ("1e400", "EUR", "invalid_amount"),
        ("1200.5", "JPY", "too_many_decimals"),
        ("1.2345", "KWD", "too_many_decimals"),
        ("19.999", "EUR", "too_many_decimals"),
        ("0.001", "EUR", "too_many_decimals"),
        ("10", "XYZ", "unknown_currency"),
    ],
)
def test_to_amount_refuses_what_is_not_a_price(value, currency, code):
    with pytest.raises(ValidationFailed) as exc:
        to_amount(value, currency)

    assert exc.value.code == code
    assert exc.value.status == 422


def test_to_amount_names_the_field_it_checked():
    with pytest.raises(ValidationFailed) as exc:
        to_amount("-5", "EUR", field="shipping_price")

    assert exc.value.field == "shipping_price"


def test_check_currency_normalises_and_refuses_unknown_codes():
    assert check_currency(" usd ") == "USD"
    with pytest.raises(ValidationFailed) as exc:
        check_currency("BTC")
    assert exc.value.field == "currency"


# --- pictures -------------------------------------------------------------------------------
def _jpeg(size=(60, 40), exif=None, colour="teal") -> bytes:
    out = io.BytesIO()
    img = Image.new("RGB", size, colour)
    if exif is not None:
        img.save(out, "JPEG", exif=exif)
    else:
        img.save(out, "JPEG")
    return out.getvalue()


def _png_header(width: int, height: int) -> bytes:
    """A tiny PNG file whose header claims ``width``×``height`` pixels (a decompression bomb's shape)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")
    )


def test_clean_image_re_encodes_a_real_picture():
    cleaned = clean_image(ContentFile(_jpeg((60, 40)), name="a.jpg"))

    assert (cleaned.width, cleaned.height) == (60, 40)
    assert cleaned.content.name.endswith(".jpg")
    with Image.open(io.BytesIO(cleaned.content.read())) as img:
        assert img.format == "JPEG"


def test_clean_image_keeps_transparency_as_png():
    out = io.BytesIO()
    Image.new("RGBA", (10, 10), (255, 0, 0, 128)).save(out, "PNG")

    cleaned = clean_image(out.getvalue())

    assert cleaned.content.name.endswith(".png")


def test_clean_image_shrinks_to_max_side():
    cleaned = clean_image(_jpeg((3000, 1000)), max_side=600)

    assert (cleaned.width, cleaned.height) == (600, 200)


@pytest.mark.parametrize(
    "content",
    [
        b"This is a text file, renamed to .jpg",
        b"<svg xmlns='http://www.w3.org/2000/svg'></svg>",
        b"\xff\xd8\xff\xe0" + b"\x00" * 20,  # a JPEG's first bytes and nothing else
        b"",
    ],
)
def test_clean_image_refuses_files_that_are_not_pictures(content):
    with pytest.raises(ValidationFailed) as exc:
        clean_image(ContentFile(content, name="photo.jpg"), field="image")

    assert (exc.value.code, exc.value.field) == ("invalid_image", "image")


def test_clean_image_refuses_formats_we_do_not_serve():
    out = io.BytesIO()
    Image.new("RGB", (10, 10)).save(out, "BMP")

    with pytest.raises(ValidationFailed, match="BMP images are not accepted"):
        clean_image(out.getvalue())


def test_clean_image_refuses_a_decompression_bomb_header():
    bomb = _png_header(100_000, 100_000)
    assert len(bomb) < 200  # tiny on disk, ten billion pixels once decoded

    with pytest.raises(ValidationFailed) as exc:
        clean_image(ContentFile(bomb, name="bomb.png"))

    assert exc.value.code in {"invalid_image", "image_too_large"}


def test_clean_image_refuses_more_pixels_than_allowed_before_decoding_them(settings):
    settings.AGORA_MAX_IMAGE_PIXELS = 1_000_000

    with pytest.raises(ValidationFailed) as exc:
        clean_image(ContentFile(_png_header(2000, 1000), name="big.png"))

    assert exc.value.code == "image_too_large"
    assert "2000×1000" in exc.value.message


def test_clean_image_refuses_too_many_bytes(settings):
    settings.AGORA_MAX_IMAGE_BYTES = 100

    with pytest.raises(ValidationFailed) as exc:
        clean_image(ContentFile(_jpeg(), name="a.jpg"))

    assert exc.value.code == "image_too_large"


def test_clean_image_strips_exif_and_applies_its_orientation():
    exif = Image.Exif()
    exif[0x0110] = "SpyCam 3000"  # camera model
    exif[0x0131] = "secret-software"
    exif[0x0112] = 6  # orientation: rotate 90° to display
    original = _jpeg((60, 40), exif=exif.tobytes())
    assert b"SpyCam 3000" in original

    cleaned = clean_image(ContentFile(original, name="a.jpg")).content.read()

    assert b"SpyCam 3000" not in cleaned and b"secret-software" not in cleaned
    with Image.open(io.BytesIO(cleaned)) as img:
        assert not img.getexif()
        assert img.size == (40, 60)  # turned upright instead of relying on the tag


def test_make_thumbnail_fits_a_square():
    thumb = make_thumbnail(_jpeg((1000, 500)), 240)

    with Image.open(io.BytesIO(thumb.read())) as img:
        assert img.size == (240, 120) and img.format == "JPEG"


# --- text ----------------------------------------------------------------------------------
def test_clean_text_strips_and_checks():
    assert clean_text("  hello ", field="name", max_length=10) == "hello"
    assert clean_text(None, field="name", max_length=10) == ""
    with pytest.raises(ValidationFailed, match="NUL"):
        clean_text("a\x00b", field="name", max_length=10)
    with pytest.raises(ValidationFailed) as exc:
        clean_text("   ", field="shop_name", max_length=10, required=True)
    assert exc.value.message == "Shop name is required."
    with pytest.raises(ValidationFailed) as exc:
        clean_text("x" * 11, field="name", max_length=10)
    assert exc.value.code == "too_long"


# --- rate limits -------------------------------------------------------------------------------
def test_ratelimit_allows_the_limit_then_refuses():
    for _ in range(3):
        ratelimit.hit("test", "anna", limit=3, window=60)

    with pytest.raises(RateLimited) as exc:
        ratelimit.hit("test", "anna", limit=3, window=60)

    assert exc.value.status == 429
    assert exc.value.extra["retry_after"] == 60
    assert ratelimit.attempts("test", "anna") == 4


def test_ratelimit_counts_an_identity_in_any_case_and_per_scope():
    ratelimit.hit("test", "Anna@Example.com", limit=5, window=60)
    ratelimit.hit("test", " anna@example.com ", limit=5, window=60)

    assert ratelimit.attempts("test", "ANNA@example.com") == 2
    assert ratelimit.attempts("other", "anna@example.com") == 0
    assert ratelimit.attempts("test", "kenji") == 0


def test_ratelimit_reset_clears_the_count():
    for _ in range(3):
        ratelimit.hit("test", "anna", limit=3, window=60)

    ratelimit.reset("test", "anna")

    assert ratelimit.attempts("test", "anna") == 0
    ratelimit.hit("test", "anna", limit=3, window=60)
