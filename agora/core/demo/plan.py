"""A demo data plan: every user, shop and product to create, drawn from a seeded random generator.

Pure: no database and no files, so the same seed always gives the same plan (tests check this).
"""

from __future__ import annotations

import itertools
import random
import re
import unicodedata
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from agora.core.demo.vocabulary import BIO_ENDS, BIO_STARTS, CATEGORIES, NICHES, PEOPLE, Kind, Niche
from agora.core.money import CURRENCIES
from agora.shops.models import Role

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "agora-demo"  # noqa: S105 - the published demo sign-in
ADMIN_USERNAME = "admin"
ADMIN_PASSWORD = "agora-admin"  # noqa: S105 - the published operator sign-in
EMAIL_DOMAIN = "example.com"  # reserved by RFC 2606: mail to demo people goes nowhere

VARIANT_COUNT_WEIGHTS = ((1, 25), (2, 20), (3, 20), (4, 15), (5, 10), (6, 10))
PHOTO_COUNT_WEIGHTS = ((1, 40), (2, 40), (3, 20))
DRAFT_SHARE = 0.07
SOLD_OUT_SHARE = 0.08
SHAPES = ("circle", "square", "diamond", "ring", "stripes", "triangle")


@dataclass(frozen=True)
class ImageSpec:
    """How to draw one picture (see ``images.render``)."""

    size: tuple[int, int]
    colours: tuple[str, str, str]  # gradient from, gradient to, shape
    angle: int
    shape: str
    text: str
    caption: str = ""


@dataclass(frozen=True)
class UserPlan:
    username: str
    email: str
    display_name: str
    bio: str
    language: str
    currency: str
    joined_days_ago: int
    avatar: ImageSpec | None


@dataclass(frozen=True)
class VariantPlan:
    sku: str
    name: str
    options: dict[str, str]
    price: str
    stock_quantity: int
    weight_grams: int


@dataclass(frozen=True)
class ProductPlan:
    shop: int  # index into DemoPlan.shops
    title: str
    description: str
    category: str  # category slug
    tags: tuple[str, ...]
    variants: tuple[VariantPlan, ...]
    photos: tuple[ImageSpec, ...]
    publish: bool
    popularity: int
    published_days_ago: int


@dataclass(frozen=True)
class ShopPlan:
    niche: Niche
    owner: int  # index into DemoPlan.users
    staff: tuple[tuple[int, str], ...]  # (user index, role) besides the owner
    logo: ImageSpec
    created_days_ago: int


@dataclass
class DemoPlan:
    seed: int
    users: list[UserPlan] = field(default_factory=list)
    shops: list[ShopPlan] = field(default_factory=list)
    products: list[ProductPlan] = field(default_factory=list)
    categories: tuple[tuple[str, str, tuple[tuple[str, str], ...]], ...] = CATEGORIES


def ascii_fold(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def initials(text: str) -> str:
    words = [w for w in ascii_fold(text).replace("-", " ").split() if w[:1].isalnum()]
    return "".join(w[0] for w in words[:2]).upper() or "A"


def _weighted(rng: random.Random, pairs: tuple[tuple[int, int], ...]) -> int:
    values, weights = zip(*pairs, strict=True)
    return rng.choices(values, weights=weights)[0]


def _price(niche: Niche, raw: Decimal, ending: Decimal) -> str:
    """A plausible shop price: ``raw`` rounded to the niche's step, then given its ending (24.90, 5 990)."""
    step = Decimal(niche.price_step)
    rounded = max(step, (raw / step).quantize(Decimal(1), rounding=ROUND_HALF_UP) * step)
    if rounded - ending > 0:
        rounded -= ending
    exponent = CURRENCIES[niche.currency][0]
    return str(rounded.quantize(Decimal(1).scaleb(-exponent)))


def _articles(text: str) -> str:
    """'a organic cup' -> 'an organic cup' (not before u: 'a USB-C light', 'a unique piece')."""
    return re.sub(r"\b([Aa]) (?=[AEIOaeio])(?!one\b)", r"\1n ", text)


def _title(rng: random.Random, niche: Niche, kind: Kind) -> tuple[str, dict[str, str]]:
    pattern = rng.choice(kind.patterns or niche.patterns)
    slots = {
        "adj": rng.choice(kind.adjectives or niche.adjectives),
        "material": rng.choice(kind.materials or niche.materials),
        "name": rng.choice(niche.names),
        "noun": kind.noun,
        "city": niche.city,
        "shop": niche.shop_name,
    }
    title = _articles(pattern.format(**slots))
    # The description speaks of "the Daugava" only if the title calls the product by that name.
    slots["named"] = "yes" if "{name}" in pattern else ""
    return title[0].upper() + title[1:], slots


def _fitting(templates: tuple[str, ...], slots: dict[str, str]) -> list[str]:
    fitting = [t for t in templates if slots["named"] or "{name}" not in t]
    return fitting or list(templates)


def _description(rng: random.Random, niche: Niche, kind: Kind, title: str, slots: dict[str, str]) -> str:
    parts = [rng.choice(_fitting(niche.openers, slots))]
    if kind.details:
        parts.append(rng.choice(kind.details))
    if not kind.details or rng.random() < 0.6:
        parts.append(rng.choice(_fitting(niche.details, slots)))
    parts.append(rng.choice(_fitting(niche.closers, slots)))
    text = _articles(" ".join(part.format(title=title, **slots) for part in parts))
    return text[0].upper() + text[1:]


def _variants(rng: random.Random, niche: Niche, kind: Kind, number: int) -> tuple[VariantPlan, ...]:
    axes = [niche.axes[name] for name in kind.axes]
    combos = list(itertools.product(*(axis.values for axis in axes))) if axes else [()]
    wanted = 1 if kind.single else min(_weighted(rng, VARIANT_COUNT_WEIGHTS), len(combos))
    picked = sorted(rng.sample(range(len(combos)), wanted))
    low, high = kind.price
    base = Decimal(rng.randint(int(Decimal(low) * 100), int(Decimal(high) * 100))) / 100
    ending = Decimal(rng.choice(niche.price_endings))  # one price style per product: 24.90, 49.90
    grams = rng.randint(*kind.grams)
    variants = []
    for index in picked:
        combo = combos[index]
        factor, weight_factor = Decimal(1), Decimal(1)
        for axis, (_, _, value_factor) in zip(axes, combo, strict=True):
            factor *= Decimal(value_factor)
            if axis.scales_weight:
                weight_factor *= Decimal(value_factor)
        price = _price(niche, base * factor, ending)
        if kind.single:
            stock = rng.choice((0, 1, 1, 1))
        elif rng.random() < SOLD_OUT_SHARE:
            stock = 0
        else:
            stock = rng.randint(1, 50)
        codes = [code for _, code, _ in combo]
        variants.append(
            VariantPlan(
                sku="-".join([niche.sku_prefix, f"{number:04d}", *codes]),
                name=" / ".join(label for label, _, _ in combo) or ("One of a kind" if kind.single else "Standard"),
                options={axis.name: label for axis, (label, _, _) in zip(axes, combo, strict=True)},
                price=price,
                stock_quantity=stock,
                weight_grams=int((grams * weight_factor).quantize(Decimal(1))),
            )
        )
    return tuple(variants)


def _photos(rng: random.Random, niche: Niche, title: str, noun: str) -> tuple[ImageSpec, ...]:
    count = _weighted(rng, PHOTO_COUNT_WEIGHTS)
    first, second, third = rng.sample(niche.palette, 3)
    specs = []
    for i in range(count):
        specs.append(
            ImageSpec(
                size=(512, 512),
                colours=(first, second, third) if i % 2 == 0 else (second, third, first),
                angle=rng.randrange(0, 360, 15),
                shape=rng.choice(SHAPES),
                text=initials(title),
                caption=ascii_fold(noun)[:24],
            )
        )
    return tuple(specs)


def _users(rng: random.Random, count: int) -> list[UserPlan]:
    users = [
        UserPlan(
            username=DEMO_USERNAME,
            email=f"{DEMO_USERNAME}@{EMAIL_DOMAIN}",
            display_name="Demo Shopper",
            bio="I try everything on Agora so you can see how it works. I also run Dzija Knitwear in Riga.",
            language="en",
            currency="EUR",
            joined_days_ago=400,
            avatar=ImageSpec((256, 256), ("#2f4858", "#c9b79c", "#f4efe6"), 45, "circle", "DS"),
        )
    ]
    taken = {DEMO_USERNAME, ADMIN_USERNAME}
    while len(users) < count:
        city, language, currency, women, men, families = rng.choice(PEOPLE)
        woman = rng.random() < 0.5
        first = rng.choice(women if woman else men)
        last = rng.choice(families)[0 if woman else 1]
        base = ascii_fold(f"{first}.{last}").lower().replace(" ", "")
        username, n = base, 2
        while username in taken:
            username, n = f"{base}{n}", n + 1
        taken.add(username)
        bio = f"{rng.choice(BIO_STARTS).format(city=city)} {rng.choice(BIO_ENDS)}".strip() if rng.random() < 0.8 else ""
        palette = rng.choice(NICHES).palette
        users.append(
            UserPlan(
                username=username,
                email=f"{username}@{EMAIL_DOMAIN}",
                display_name=f"{first} {last}",
                bio=bio,
                language=language,
                currency=currency,
                joined_days_ago=rng.randint(1, 365),
                avatar=ImageSpec(
                    (256, 256),
                    (palette[0], palette[1], "#ffffff"),
                    rng.randrange(0, 360, 30),
                    "circle",
                    initials(f"{first} {last}"),
                )
                if rng.random() < 0.4
                else None,
            )
        )
    return users


def _shops(rng: random.Random, user_count: int) -> list[ShopPlan]:
    shops = []
    for i, niche in enumerate(NICHES):
        # The first shop belongs to the demo user; the others to distinct people while there are enough.
        owner = 0 if i == 0 or user_count == 1 else 1 + (i - 1) % (user_count - 1)
        pool = [u for u in range(1, user_count) if u != owner]
        staff: list[tuple[int, str]] = []
        if pool and rng.random() < 0.6:
            staff.append((pool.pop(rng.randrange(len(pool))), Role.MANAGER.value))
        if pool and rng.random() < 0.5:
            staff.append((pool.pop(rng.randrange(len(pool))), Role.SUPPORT.value))
        shops.append(
            ShopPlan(
                niche=niche,
                owner=owner,
                staff=tuple(staff),
                logo=ImageSpec(
                    (320, 320),
                    (niche.palette[0], niche.palette[1], niche.palette[2]),
                    rng.randrange(0, 360, 45),
                    "ring",
                    initials(niche.shop_name),
                ),
                created_days_ago=rng.randint(200, 700),
            )
        )
    return shops


def _allot(total: int, shares: list[int]) -> list[int]:
    """Split ``total`` products between shops in proportion to their shares (largest remainders)."""
    whole = [total * s // sum(shares) for s in shares]
    remainders = sorted(range(len(shares)), key=lambda i: (-(total * shares[i] % sum(shares)), i))
    for i in remainders[: total - sum(whole)]:
        whole[i] += 1
    return whole


def build_plan(*, seed: int = 42, products: int = 300, users: int = 50) -> DemoPlan:
    rng = random.Random(seed)
    plan = DemoPlan(seed=seed)
    plan.users = _users(rng, max(1, users))
    plan.shops = _shops(rng, len(plan.users))
    counts = _allot(products, [shop.niche.share for shop in plan.shops])
    # Interleave shops so that any prefix of the list (and the progress bar) covers all of them.
    order = [i for round_ in range(max(counts, default=0)) for i in range(len(counts)) if round_ < counts[i]]
    titles: dict[int, set[str]] = {}
    for number, shop_index in enumerate(order, start=1):
        niche = plan.shops[shop_index].niche
        kind = rng.choice(niche.kinds)
        seen = titles.setdefault(shop_index, set())
        title, slots = _title(rng, niche, kind)
        for _ in range(5):  # a few tries at a title the shop does not have yet
            if title not in seen:
                break
            title, slots = _title(rng, niche, kind)
        seen.add(title)
        tags = (*rng.sample(niche.tags, rng.randint(1, 3)), *kind.tags)
        plan.products.append(
            ProductPlan(
                shop=shop_index,
                title=title,
                description=_description(rng, niche, kind, title, slots),
                category=kind.category,
                tags=tuple(dict.fromkeys(tags)),
                variants=_variants(rng, niche, kind, number),
                photos=_photos(rng, niche, title, kind.noun),
                publish=rng.random() >= DRAFT_SHARE,
                popularity=min(50_000, int(rng.lognormvariate(3.5, 1.4))),
                published_days_ago=rng.randint(0, 180),
            )
        )
    return plan
