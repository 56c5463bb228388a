"""The translation pipeline end to end: every catalogue (Russian today) is complete and compiled, and every way
of choosing a language (cookie, Accept-Language, profile, switcher) reaches the pages, the mails and the API."""

from __future__ import annotations

import ast
import gettext
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.utils import translation

from agora.accounts.tests.factories import UserFactory
from agora.catalog.tests.factories import VariantFactory, published_product
from agora.shops.tests.factories import shop_with_owner

LOCALE_DIR = Path(settings.LOCALE_PATHS[0])
# Every language but the one the code is written in has a catalogue, checked by the same tests.
TRANSLATED = [code for code, _name in settings.LANGUAGES if code != settings.LANGUAGE_CODE]
CYRILLIC = re.compile(r"[А-Яа-яЁё]{3,}")


@dataclass
class Entry:
    msgid: str = ""
    msgid_plural: str | None = None
    msgctxt: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    obsolete: bool = False


def parse_po(text: str) -> list[Entry]:
    """A small .po reader (no polib here): enough for the files makemessages writes."""
    entries: list[Entry] = []
    for block in re.split(r"\n\s*\n", text.strip()):
        entry = Entry()
        key: str | None = None
        parts: dict[str, list[str]] = {}
        for line in block.splitlines():
            if line.startswith("#~"):
                entry.obsolete = True
            elif line.startswith("#,"):
                entry.flags.update(flag.strip() for flag in line[2:].split(","))
            elif line.startswith("#"):
                continue
            elif match := re.match(r"^(msgctxt|msgid_plural|msgid|msgstr(?:\[\d+\])?)\s+(\".*\")$", line):
                key = match.group(1)
                parts[key] = [match.group(2)]
            elif line.startswith('"') and key is not None:
                parts[key].append(line)
        for name, chunks in parts.items():
            value = "".join(ast.literal_eval(chunk) for chunk in chunks)
            if name == "msgstr":
                entry.msgstr[0] = value
            elif name.startswith("msgstr["):
                entry.msgstr[int(name[7:-1])] = value
            else:
                setattr(entry, name, value)
        entries.append(entry)
    return entries


@dataclass
class Catalogue:
    language: str
    header: Entry
    entries: list[Entry]  # the header left out
    nplurals: int

    @property
    def mo_path(self) -> Path:
        return LOCALE_DIR / self.language / "LC_MESSAGES" / "django.mo"


@pytest.fixture(scope="module", params=TRANSLATED)
def catalogue(request: pytest.FixtureRequest) -> Catalogue:
    language = request.param
    entries = parse_po((LOCALE_DIR / language / "LC_MESSAGES" / "django.po").read_text(encoding="utf-8"))
    plural_forms = re.search(r"Plural-Forms: nplurals=(\d+);", entries[0].msgstr.get(0, ""))
    return Catalogue(language, entries[0], entries[1:], int(plural_forms.group(1)) if plural_forms else 0)


def html(response: Any) -> str:
    return response.content.decode()


# --- the catalogues ----------------------------------------------------------------------------
def test_the_catalogue_header(catalogue: Catalogue) -> None:
    header = catalogue.header
    assert header.msgid == ""
    assert "fuzzy" not in header.flags
    assert f"Language: {catalogue.language}\n" in header.msgstr[0]
    assert "Content-Type: text/plain; charset=UTF-8\n" in header.msgstr[0]
    assert catalogue.nplurals >= 1


def test_the_russian_catalogue_has_three_plural_forms() -> None:
    header = parse_po((LOCALE_DIR / "ru" / "LC_MESSAGES" / "django.po").read_text(encoding="utf-8"))[0]
    assert (
        "Plural-Forms: nplurals=3; plural=(n%10==1 && n%100!=11 ? 0 : n%10>=2 && n%10<=4 && (n%100<10 || n%100>=20)"
        " ? 1 : 2);\n"
    ) in header.msgstr[0]


def test_every_entry_is_translated_and_none_is_fuzzy(catalogue: Catalogue) -> None:
    messages = catalogue.entries
    assert len(messages) > 300  # the whole site, not a sample
    assert not [e.msgid for e in messages if "fuzzy" in e.flags]
    assert not [e.msgid for e in messages if e.obsolete]
    untranslated = [e.msgid for e in messages if not e.msgstr or any(not text for text in e.msgstr.values())]
    assert not untranslated
    plurals = [e for e in messages if e.msgid_plural is not None]
    assert plurals
    assert [e.msgid for e in plurals if sorted(e.msgstr) != list(range(catalogue.nplurals))] == []


def test_placeholders_survive_translation(catalogue: Catalogue) -> None:
    placeholder = re.compile(r"%\([a-z_]+\)[sd]")
    for entry in catalogue.entries:
        expected = set(placeholder.findall(entry.msgid)) | set(placeholder.findall(entry.msgid_plural or ""))
        for text in entry.msgstr.values():
            assert set(placeholder.findall(text)) == expected, entry.msgid


def test_the_committed_mo_file_matches_the_po_file(catalogue: Catalogue) -> None:
    with catalogue.mo_path.open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    assert compiled.info()["language"] == catalogue.language
    for entry in catalogue.entries:
        if entry.msgid_plural is None:
            if entry.msgctxt is None:
                assert compiled.gettext(entry.msgid) == entry.msgstr[0], entry.msgid
            else:
                assert compiled.pgettext(entry.msgctxt, entry.msgid) == entry.msgstr[0], entry.msgid
        else:
            for n in range(112):
                translated = compiled.ngettext(entry.msgid, entry.msgid_plural, n)
                assert translated == entry.msgstr[compiled.plural(n)], (entry.msgid, n)  # type: ignore[attr-defined]


GETTEXT_FUNCTIONS = {"_", "gettext", "gettext_lazy", "gettext_noop", "ngettext", "ngettext_lazy"}
PGETTEXT_FUNCTIONS = {"pgettext", "pgettext_lazy", "npgettext", "npgettext_lazy"}
TEMPLATE_TRANSLATE = re.compile(r"""{%\s*translate\s+(["'])(.*?)\1(?:\s+context\s+(["'])(.*?)\3)?[^%]*%}""")


def _marked_in_python(source: str) -> set[tuple[str | None, str]]:
    found: set[tuple[str | None, str]] = set()
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name | ast.Attribute):
            continue
        name = node.func.id if isinstance(node.func, ast.Name) else node.func.attr
        args = [a.value if isinstance(a, ast.Constant) and isinstance(a.value, str) else None for a in node.args]
        if name in GETTEXT_FUNCTIONS and args and args[0] is not None:
            found.add((None, args[0]))
        elif name in PGETTEXT_FUNCTIONS and len(args) > 1 and args[0] is not None and args[1] is not None:
            found.add((args[0], args[1]))
    return found


def test_every_marked_string_is_in_the_catalogue(catalogue: Catalogue) -> None:
    """A string marked without running ``make messages`` would stay English; this names it."""
    known = {(e.msgctxt, e.msgid) for e in catalogue.entries}
    root = Path(settings.BASE_DIR) / "agora"
    marked: set[tuple[str | None, str]] = set()
    for path in root.rglob("*.py"):
        if "tests" not in path.parts and "migrations" not in path.parts:
            marked |= _marked_in_python(path.read_text(encoding="utf-8"))
    for path in root.glob("*/templates/**/*"):
        if path.is_file():
            for match in TEMPLATE_TRANSLATE.finditer(path.read_text(encoding="utf-8")):
                marked.add((match.group(4), match.group(2)))
    assert len(marked) > 300
    assert sorted(marked - known, key=str) == []


def test_django_uses_the_russian_plural_forms() -> None:
    with translation.override("ru"):
        assert translation.ngettext("%(count)d token revoked.", "%(count)d tokens revoked.", 1) % {"count": 1} == (
            "1 токен отозван."
        )
        assert translation.ngettext("%(count)d token revoked.", "%(count)d tokens revoked.", 3) % {"count": 3} == (
            "3 токена отозвано."
        )
        assert translation.ngettext("%(count)d token revoked.", "%(count)d tokens revoked.", 11) % {"count": 11} == (
            "11 токенов отозвано."
        )


# --- pages in Russian ---------------------------------------------------------------------------
@pytest.mark.django_db
@pytest.mark.parametrize("how", ["cookie", "header"])
def test_public_pages_in_russian(client: Client, how: str) -> None:
    product = published_product()
    VariantFactory(product=product, name="Large", stock_quantity=3)
    if how == "cookie":
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = "ru"
        headers: dict[str, str] = {}
    else:
        headers = {"Accept-Language": "ru-RU,ru;q=0.9,en;q=0.5"}
    pages = {
        "/": ["Новинки", "Войти", "Зарегистрироваться"],
        f"/s/{product.shop.slug}/p/{product.slug}/": ["Выберите вариант", "В наличии: 10", "В наличии: 3", "Артикул"],
        "/accounts/login/": ["Имя пользователя или эл. почта", "Забыли пароль?"],
    }
    for url, expected in pages.items():
        response = client.get(url, headers=headers)
        page = html(response)
        assert response.status_code == 200, url
        assert '<html lang="ru">' in page, url
        for text in expected:
            assert text in page, (url, text)
        for english in ("Sign in", "Sign up", "Search products", "Skip to content"):
            assert english not in page, (url, english)
        assert response["Content-Language"] == "ru"


@pytest.mark.django_db
def test_english_stays_the_default(client: Client) -> None:
    page = html(client.get("/"))

    assert '<html lang="en">' in page
    assert "Sign in" in page
    assert not CYRILLIC.search(page.split('id="language-select"')[0])  # only the switcher names Русский


@pytest.mark.django_db
def test_the_dashboard_in_russian(client: Client) -> None:
    shop, owner = shop_with_owner()
    published_product(shop=shop, title="Linen shirt")
    client.force_login(owner)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "ru"

    home = html(client.get("/dashboard/"))
    products = html(client.get(f"/dashboard/s/{shop.slug}/"))

    assert '<html lang="ru">' in home and '<html lang="ru">' in products
    assert "Мои магазины" in home and "Открыть магазин" in home
    assert "Добавить товар" in products and "1 вариант" in products and "Linen shirt" in products
    assert "Add a product" not in products and "Sign out" not in products


@pytest.mark.django_db
def test_the_profile_language_applies_without_a_cookie(client: Client) -> None:
    user = UserFactory(language="ru")
    client.force_login(user)

    page = html(client.get("/", headers={"Accept-Language": "en"}))

    assert '<html lang="ru">' in page
    assert "Выйти" in page and "Sign out" not in page


@pytest.mark.django_db
def test_a_language_picked_in_the_switcher_beats_the_profile(client: Client) -> None:
    client.force_login(UserFactory(language="ru"))

    client.post("/i18n/setlang/", {"language": "en", "next": "/"})

    assert '<html lang="en">' in html(client.get("/"))


@pytest.mark.django_db
def test_the_language_switcher_switches(client: Client) -> None:
    page = html(client.get("/"))
    assert 'value="ru"' in page and "Русский" in page and "English" in page

    response = client.post("/i18n/setlang/", {"language": "ru", "next": "/accounts/login/"})

    assert response.status_code == 302 and response["Location"] == "/accounts/login/"
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "ru"
    page = html(client.get("/accounts/login/"))
    assert '<html lang="ru">' in page and "Забыли пароль?" in page
    assert '<option value="ru" selected lang="ru">Русский</option>' in page

    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert "Forgot your password?" in html(client.get("/accounts/login/"))


@pytest.mark.django_db
def test_an_unknown_language_falls_back_to_english(client: Client) -> None:
    client.post("/i18n/setlang/", {"language": "xx", "next": "/"})

    page = html(client.get("/", headers={"Accept-Language": "xx"}))

    assert '<html lang="en">' in page and "Sign in" in page


@pytest.mark.django_db
def test_form_errors_in_russian(client: Client) -> None:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "ru"

    response = client.post(
        "/accounts/signup/",
        {"username": "anna", "email": "anna@example.com", "password": "a", "password_confirm": "b"},
    )

    assert "Пароли не совпадают." in html(response)


@pytest.mark.django_db
def test_the_password_reset_mail_is_in_the_users_language(
    client: Client, mailoutbox: list[Any], django_capture_on_commit_callbacks: Any
) -> None:
    UserFactory(email="olga@example.com", language="ru")

    # Asked for from an English page: the mail still goes out in the language of the account.
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/accounts/password/reset/", {"email": "olga@example.com"}, headers={"Accept-Language": "en"})

    assert len(mailoutbox) == 1
    assert mailoutbox[0].subject == "Сброс пароля на Agora"
    assert "Ссылка срабатывает один раз" in mailoutbox[0].body


@pytest.mark.django_db
@pytest.mark.parametrize(("invitee_language", "expected"), [("ru", "Вас приглашают"), (None, "You are invited")])
def test_the_invitation_mail_is_in_the_invitees_language(
    client: Client,
    mailoutbox: list[Any],
    django_capture_on_commit_callbacks: Any,
    invitee_language: str | None,
    expected: str,
) -> None:
    shop, owner = shop_with_owner(name="Lavka")
    if invitee_language:
        UserFactory(email="ivan@example.com", language=invitee_language)
    client.force_login(owner)  # the owner's profile says English

    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/dashboard/s/{shop.slug}/staff/", {"email": "ivan@example.com", "role": "manager"})

    assert len(mailoutbox) == 1
    assert mailoutbox[0].subject.startswith(expected)
    assert ("«Менеджер»" in mailoutbox[0].body) == (invitee_language == "ru")


@pytest.mark.django_db
def test_domain_errors_on_a_web_form_in_russian(client: Client) -> None:
    UserFactory(username="taken")
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "ru"

    response = client.post(
        "/accounts/signup/",
        {
            "username": "taken",
            "email": "new@example.com",
            "password": "x7!Kq-long-pass",
            "password_confirm": "x7!Kq-long-pass",
        },
    )

    assert "Имя пользователя «taken» уже занято. Выберите другое." in html(response)


# --- the API -----------------------------------------------------------------------------------
@pytest.mark.django_db
def test_api_domain_errors_follow_accept_language(api_as: Any) -> None:
    client = api_as(UserFactory())
    payload = {"name": "Lavka", "currency": "XXX", "country": "LV"}

    russian = client.call("POST", "shops", payload, headers={"Accept-Language": "ru"})
    english = client.call("POST", "shops", payload)

    assert russian.status_code == english.status_code == 422
    assert russian.json()["code"] == english.json()["code"] == "unknown_currency"
    assert russian.json()["field"] == "currency"
    assert "Неизвестная валюта" in russian.json()["detail"] and "XXX" in russian.json()["detail"]
    assert english.json()["detail"].startswith("Unknown currency")


@pytest.mark.django_db
def test_api_field_names_inside_messages_are_translated(api_as: Any) -> None:
    client = api_as(UserFactory())

    response = client.call(
        "POST", "shops", {"name": "   ", "currency": "EUR", "country": "LV"}, headers={"Accept-Language": "ru"}
    )

    assert response.status_code == 422
    assert response.json() == {"detail": "Заполните поле «Название».", "code": "required", "field": "name"}


@pytest.mark.django_db
def test_api_framework_errors_follow_accept_language(api: Any) -> None:
    response = api.call("POST", "shops", {"name": "x"}, headers={"Accept-Language": "ru"})

    assert response.status_code == 401
    assert response.json()["detail"].startswith("Требуется аутентификация")
