"""The production-shaped stack, started the way `make run` starts it: uvicorn serving ``agora.asgi:application``.

The other browser tests use Django's in-process live server (WSGI, test settings, unhashed static files). These
run the real thing in a subprocess: plain ``agora.settings`` with DEBUG off, a fresh var/ folder, demo data,
collected manifest-hashed static files served by WhiteNoise, media served by the app, Channels websockets over
uvicorn, and (when the outer run has them) PostgreSQL in a database of its own and the Redis cache and layer.
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path
from typing import Any

import psycopg
import pytest
from playwright.sync_api import Browser, Page, expect
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect as ws_connect

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
SMOKE_DATABASE = "agora_smoke"
STARTUP_TIMEOUT = 30.0
GRACEFUL_STOP = 8.0
DEMO_USERNAME, DEMO_PASSWORD = "demo", "agora-demo"
# A manifest-hashed name, as CompressedManifestStaticFilesStorage writes it: app.77ea1728ba9a.css
HASHED_STATIC_RE = re.compile(r"""/static/[^"'\s?#]+\.[0-9a-f]{12}\.(?:css|js)""")
ONE_YEAR = 365 * 24 * 3600
IDLE_SECONDS = 6.5


# --- the server -----------------------------------------------------------------------------
@dataclass
class Server:
    url: str
    env: dict[str, str]
    log: Path
    ws_url: str = field(init=False)

    def __post_init__(self) -> None:
        self.ws_url = "ws" + self.url.removeprefix("http")

    def manage(self, *args: str, timeout: float = 120) -> str:
        """Run ``manage.py`` with the server's own environment and return its output."""
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=REPO,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if done.returncode != 0:
            pytest.fail(f"manage.py {' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
        return done.stdout


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _smoke_database(database_url: str) -> str | None:
    """A fresh PostgreSQL database beside the outer run's, so the server never touches the test database."""
    parts = urllib.parse.urlsplit(database_url)
    if not parts.scheme.startswith("postgres"):
        return None
    admin_url = urllib.parse.urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {SMOKE_DATABASE} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {SMOKE_DATABASE}")
    return urllib.parse.urlunsplit(parts._replace(path=f"/{SMOKE_DATABASE}"))


def _drop_smoke_database(database_url: str) -> None:
    parts = urllib.parse.urlsplit(database_url)
    admin_url = urllib.parse.urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {SMOKE_DATABASE} WITH (FORCE)")


def _server_env(var_dir: Path, url: str) -> dict[str, str]:
    """A plain production environment: nothing of the test run leaks in (no test settings, no async escape hatch)."""
    env = {name: os.environ[name] for name in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR") if name in os.environ}
    env.update(
        DJANGO_SETTINGS_MODULE="agora.settings",
        AGORA_VAR_DIR=str(var_dir),
        AGORA_SITE_URL=url,
        PYTHONDONTWRITEBYTECODE="1",
    )
    if (database_url := os.environ.get("DATABASE_URL")) and (smoke_url := _smoke_database(database_url)):
        env["DATABASE_URL"] = smoke_url
    if redis_url := os.environ.get("REDIS_URL"):
        env["REDIS_URL"] = redis_url
        env["AGORA_CACHE_PREFIX"] = "agora-smoke"
    return env


def _wait_until_healthy(server: Server, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"uvicorn exited with {process.returncode}:\n{server.log.read_text()}")
        try:
            if fetch(server.url + "/healthz", timeout=1).status == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    pytest.fail(f"uvicorn did not answer /healthz within {STARTUP_TIMEOUT:.0f} s:\n{server.log.read_text()}")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    var_dir = tmp_path_factory.mktemp("agora-var")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    srv = Server(url=url, env=_server_env(var_dir, url), log=var_dir / "uvicorn.log")
    try:
        srv.manage("migrate", "--noinput", "-v", "0")
        # Demo data and static files do not depend on each other: load and collect side by side.
        collect = subprocess.Popen(
            [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
            cwd=REPO,
            env=srv.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        demo_output = srv.manage("demo", "--products", "12", "--users", "6", "--seed", "3")
        collect_output, _ = collect.communicate(timeout=120)
        if collect.returncode != 0:
            pytest.fail(f"collectstatic failed:\n{collect_output.decode()}")
        assert "Demo data loaded" in demo_output
        assert (var_dir / "static" / "staticfiles.json").is_file()

        with srv.log.open("wb") as log:
            process = subprocess.Popen(
                [str(VENV_BIN / "uvicorn"), "agora.asgi:application", "--host", "127.0.0.1", "--port", str(port)],
                cwd=REPO,
                env=srv.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        graceful = False
        try:
            _wait_until_healthy(srv, process)
            yield srv
        finally:
            process.terminate()
            try:
                process.wait(timeout=GRACEFUL_STOP)
                graceful = True
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        log_text = srv.log.read_text()
        # A 500 or a crashed websocket handler leaves a traceback in the server's log even when the test passed.
        assert "Traceback" not in log_text, f"the server logged an error:\n{log_text}"
        # Every socket is closed by now: a server that cannot stop is stuck on a consumer that never ended.
        assert graceful, f"uvicorn did not stop within {GRACEFUL_STOP} s of SIGTERM:\n{log_text[-3000:]}"
    finally:
        if "DATABASE_URL" in srv.env:
            _drop_smoke_database(srv.env["DATABASE_URL"])


# --- HTTP without the test client ---------------------------------------------------------------
@dataclass
class Reply:
    status: int
    headers: Message
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode()

    def json(self) -> Any:
        return json.loads(self.body)


def fetch(
    url: str,
    *,
    method: str = "GET",
    data: Any = None,
    headers: dict[str, str] | None = None,
    opener: urllib.request.OpenerDirector | None = None,
    timeout: float = 15,
) -> Reply:
    headers = dict(headers or {})
    body: bytes | None = None
    if isinstance(data, bytes):
        body = data
    elif data is not None:
        body = json.dumps(data).encode()
        headers.setdefault("Content-Type", "application/json")
    assert url.startswith("http://127.0.0.1:")
    request = urllib.request.Request(url, data=body, method=method, headers=headers)  # noqa: S310 (local server)
    try:
        with (opener or urllib.request.build_opener()).open(request, timeout=timeout) as response:
            return Reply(response.status, response.headers, response.read())
    except urllib.error.HTTPError as exc:
        return Reply(exc.code, exc.headers, exc.read())


def _first_product(server: Server) -> dict[str, Any]:
    reply = fetch(server.url + "/api/v1/products?page_size=5")
    assert reply.status == 200
    items = [item for item in reply.json()["items"] if item["photo"]]
    assert items, "the demo data has products with photos"
    product: dict[str, Any] = items[0]
    return product


def _session_cookie(server: Server) -> str:
    """Sign in as the demo user through the login form (CSRF token and all) and return the session id."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    form = fetch(server.url + "/accounts/login/", opener=opener)
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)
    assert form.status == 200 and match
    fields = {"csrfmiddlewaretoken": match.group(1), "identifier": DEMO_USERNAME, "password": DEMO_PASSWORD}
    signed_in = fetch(
        server.url + "/accounts/login/",
        method="POST",
        data=urllib.parse.urlencode(fields).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        opener=opener,
    )
    assert signed_in.status == 200
    session = next((c.value for c in jar if c.name == "sessionid"), None)
    assert session, "signing in through the form set a session cookie"
    return session


def _events_socket(server: Server, session: str) -> Any:
    return ws_connect(
        server.ws_url + "/ws/events/",
        origin=server.url,  # type: ignore[arg-type]
        additional_headers={"Cookie": f"sessionid={session}"},
        open_timeout=10,
    )


def _open_socket(server: Server, *, origin: str | None, session: str | None) -> tuple[str, Any]:
    """Try the events socket: ("open", first message), ("closed", code) or ("refused", HTTP status)."""
    headers = {"Cookie": f"sessionid={session}"} if session else {}
    try:
        with ws_connect(
            server.ws_url + "/ws/events/",
            origin=origin,  # type: ignore[arg-type]
            additional_headers=headers,
            open_timeout=10,
        ) as sock:
            return "open", json.loads(sock.recv(timeout=10))
    except InvalidStatus as exc:
        return "refused", exc.response.status_code
    except ConnectionClosed as exc:
        return "closed", exc.rcvd.code if exc.rcvd else None


# --- pages, static files, media, errors ---------------------------------------------------------
def test_pages_and_api_answer_through_uvicorn(server: Server) -> None:
    product = _first_product(server)
    product_path = f"/s/{product['shop']['slug']}/p/{product['slug']}/"
    word = product["title"].split()[-1]
    pages = {
        "/": "",
        product_path: product["title"],
        f"/search/?q={urllib.parse.quote(word)}": product["title"],
        "/api/v1/products": product["slug"],
        "/api/v1/docs": "swagger",
        "/admin/login/": "Agora back office",
    }
    for path, expected in pages.items():
        reply = fetch(server.url + path)
        assert reply.status == 200, (path, reply.status, reply.text[:500])
        assert expected in reply.text, (path, expected)
    home = fetch(server.url + "/")
    assert "Traceback" not in home.text
    assert home.headers["X-Frame-Options"] == "DENY"


def test_static_files_are_hashed_and_cached_for_a_year_by_whitenoise(server: Server) -> None:
    home, docs = fetch(server.url + "/").text, fetch(server.url + "/api/v1/docs").text
    assets = set(HASHED_STATIC_RE.findall(home)) | set(HASHED_STATIC_RE.findall(docs))
    assert any(a.endswith(".css") for a in HASHED_STATIC_RE.findall(home)), "the page links a hashed stylesheet"
    assert any(a.startswith("/static/ninja/") for a in assets), "the API docs load their assets from our static"
    for asset in sorted(assets):
        reply = fetch(server.url + asset)
        assert reply.status == 200, asset
        cache_control = reply.headers["Cache-Control"]
        max_age = int(re.search(r"max-age=(\d+)", cache_control).group(1))  # type: ignore[union-attr]
        assert max_age >= ONE_YEAR and "immutable" in cache_control, (asset, cache_control)
        assert reply.headers["Content-Type"].startswith(("text/css", "text/javascript", "application/javascript"))
    stylesheet = next(a for a in sorted(assets) if a.endswith(".css"))
    compressed = fetch(server.url + stylesheet, headers={"Accept-Encoding": "gzip"})
    assert compressed.status == 200 and compressed.headers["Content-Encoding"] == "gzip"


def test_product_photos_are_served_from_media(server: Server) -> None:
    product = _first_product(server)
    page = fetch(server.url + f"/s/{product['shop']['slug']}/p/{product['slug']}/").text
    on_page = re.findall(r"""/media/products/[^"'\s]+\.(?:jpg|jpeg|png|webp)""", page)
    assert on_page, "the product page shows its photos"
    from_api = [urllib.parse.urlsplit(product["photo"][key]).path for key in ("url", "thumbnail_small")]
    for path in [on_page[0], *from_api]:
        reply = fetch(server.url + path)
        assert reply.status == 200, path
        assert reply.headers["Content-Type"].startswith("image/"), (path, reply.headers["Content-Type"])
        assert len(reply.body) > 100
    assert fetch(server.url + "/media/products/nothing-here.jpg").status == 404


def test_an_unknown_page_is_the_sites_404_page(server: Server) -> None:
    reply = fetch(server.url + "/no/such/page/")
    assert reply.status == 404
    assert reply.headers["Content-Type"].startswith("text/html")
    assert "We could not find that page." in reply.text
    assert 'href="/search/"' in reply.text  # the site's own page, with its navigation
    assert "Traceback" not in reply.text and "DEBUG = True" not in reply.text
    api = fetch(server.url + "/api/v1/no-such-endpoint")
    assert api.status == 404 and api.headers["Content-Type"].startswith("application/json")


# --- websockets ---------------------------------------------------------------------------------
SOCKET_SCRIPT = """
() => new Promise((resolve, reject) => {
  const socket = new WebSocket(location.origin.replace(/^http/, "ws") + "/ws/events/");
  const messages = [];
  const timer = setTimeout(() => reject(new Error("no pong in 10 s: " + JSON.stringify(messages))), 10000);
  socket.onmessage = (event) => {
    const message = JSON.parse(event.data);
    messages.push(message);
    if (message.event === "hello") socket.send(JSON.stringify({event: "ping"}));
    if (message.event === "pong") { clearTimeout(timer); socket.close(1000); resolve(messages); }
  };
  socket.onclose = (event) => { clearTimeout(timer); reject(new Error("closed with " + event.code)); };
})
"""


def _sign_in_as_demo(page: Page, server: Server) -> None:
    page.goto("/accounts/login/")
    page.fill("input[name=identifier]", DEMO_USERNAME)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("form[action='/accounts/login/'] button[type=submit]")
    expect(page).to_have_url(server.url + "/")


def test_a_signed_in_browser_talks_to_its_websocket(browser: Browser, server: Server) -> None:
    context = browser.new_context(base_url=server.url, locale="en-US")
    context.set_default_timeout(15_000)
    page = context.new_page()
    js_errors: list[str] = []
    failed: list[str] = []
    page.on("pageerror", lambda exc: js_errors.append(str(exc)))
    page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    try:
        _sign_in_as_demo(page, server)
        expect(page.locator(".user-nav form[action='/accounts/logout/']")).to_have_count(1)

        messages = page.evaluate(SOCKET_SCRIPT)

        assert messages == [{"event": "hello", "payload": {"user": DEMO_USERNAME}}, {"event": "pong", "payload": {}}]
        assert page.evaluate("getComputedStyle(document.body).margin") == "0px", "the stylesheet was applied"
    finally:
        context.close()
    assert not js_errors, js_errors
    assert not failed, f"requests the page made that failed: {failed}"


def test_the_websocket_wants_a_session_and_our_own_origin(server: Server) -> None:
    session = _session_cookie(server)

    assert _open_socket(server, origin=server.url, session=session) == (
        "open",
        {"event": "hello", "payload": {"user": DEMO_USERNAME}},
    )
    # The same request without the session: the consumer closes it with 4401, which uvicorn sends as a refusal
    # of the handshake (the socket was never accepted).
    assert _open_socket(server, origin=server.url, session=None) in {("closed", 4401), ("refused", 403)}
    assert _open_socket(server, origin=server.url, session="not-a-session") in {("closed", 4401), ("refused", 403)}
    # Another site's page cannot use the visitor's cookie to listen in.
    assert _open_socket(server, origin="http://evil.example", session=session) == ("refused", 403)


def test_an_idle_socket_stays_open(server: Server) -> None:
    # Longer than the channel layer's blocking read (5 s in channels_redis) and redis-py 8's default socket timeout.
    session = _session_cookie(server)
    with _events_socket(server, session) as sock:
        assert json.loads(sock.recv(timeout=10))["event"] == "hello"
        time.sleep(IDLE_SECONDS)
        sock.send(json.dumps({"event": "ping"}))
        assert json.loads(sock.recv(timeout=10)) == {"event": "pong", "payload": {}}


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="a push across processes needs the Redis channel layer")
def test_an_event_sent_by_another_process_reaches_the_socket_through_redis(server: Server) -> None:
    session = _session_cookie(server)
    with _events_socket(server, session) as sock:
        assert json.loads(sock.recv(timeout=10))["event"] == "hello"
        server.manage(
            "shell",
            "-c",
            "from agora.accounts.models import User; from agora.core.realtime import send_to_user; "
            f"send_to_user(User.objects.get(username='{DEMO_USERNAME}').pk, 'smoke.test', {{'n': 1}})",
        )
        assert json.loads(sock.recv(timeout=10)) == {"event": "smoke.test", "payload": {"n": 1}}


TEAM_SETUP = """
import json

from agora.accounts.models import User
from agora.core.errors import DomainError
from agora.groupbuy import services
from agora.groupbuy.models import GroupDeal, Team
from agora.orders.demo import ADDRESSES, CARD

demo = User.objects.get(username="%(demo)s")
User.objects.create_user("smoke-joiner", "smoke-joiner@example.com", "%(password)s", display_name="Smoke Joiner")
deal = GroupDeal.objects.filter(min_members=2).order_by("pk").first()
for number, address in enumerate(ADDRESSES):
    try:
        member = services.start_team(actor=demo, deal=deal, variant_id=None, address=address, payment_method=CARD)
    except DomainError:
        continue
    print(Team.objects.get(pk=member.team_id).code)
    print(json.dumps(address))
    break
"""


def test_a_team_page_follows_its_team_live_over_the_websocket(browser: Browser, server: Server) -> None:
    """The demo shopper watches their own team's page; a friend joins through the API: the notification reaches
    the page over the websocket (not the 10 s polling fallback) and the page shows the friend."""
    password = "smoke-joiner-pass-1"
    setup = server.manage("shell", "-c", TEAM_SETUP % {"demo": DEMO_USERNAME, "password": password})
    code, address = setup.splitlines()[-2:]
    context = browser.new_context(base_url=server.url, locale="en-US")
    context.set_default_timeout(15_000)
    page = context.new_page()
    frames: list[str] = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda payload: frames.append(str(payload))))
    try:
        _sign_in_as_demo(page, server)
        page.goto(f"/t/{code}/")
        expect(page.locator("[data-team-members] li")).to_have_count(1)
        deadline = time.monotonic() + 10
        while not any('"hello"' in f for f in frames) and time.monotonic() < deadline:
            page.wait_for_timeout(100)
        assert any('"hello"' in f for f in frames), "the page opened its websocket"

        api = server.url + "/api/v1"
        token = fetch(api + "/auth/login", method="POST", data={"username": "smoke-joiner", "password": password})
        assert token.status == 200, token.text
        joined_at = time.monotonic()
        joined = fetch(
            f"{api}/teams/{code}/join",
            method="POST",
            data={"payment_method": "sandbox_card", "address": json.loads(address)},
            headers={"Authorization": f"Bearer {token.json()['token']}", "Idempotency-Key": f"smoke-{code}"},
        )
        assert joined.status == 201, joined.text

        expect(page.locator("[data-team-members] li")).to_have_count(2, timeout=6_000)
        expect(page.locator("[data-team-members]")).to_contain_text("Smoke Joiner")
        # Well before the first poll (10 s after the page loaded): the push did it.
        assert time.monotonic() - joined_at < 8
        assert any("team_joined" in f for f in frames), frames
    finally:
        context.close()


# --- the API --------------------------------------------------------------------------------------
def test_api_token_sign_in_use_and_revoke(server: Server) -> None:
    api = server.url + "/api/v1"
    wrong = fetch(api + "/auth/login", method="POST", data={"username": DEMO_USERNAME, "password": "nope-nope"})
    assert wrong.status == 401 and wrong.headers["Content-Type"].startswith("application/json")

    login = fetch(api + "/auth/login", method="POST", data={"username": DEMO_USERNAME, "password": DEMO_PASSWORD})
    assert login.status == 200, login.text
    token = login.json()["token"]
    bearer = {"Authorization": f"Bearer {token}"}

    me = fetch(api + "/me", headers=bearer)
    assert me.status == 200 and me.json()["username"] == DEMO_USERNAME

    assert fetch(api + "/auth/logout", method="POST", headers=bearer).status == 204

    revoked = fetch(api + "/me", headers=bearer)
    assert revoked.status == 401
    assert revoked.headers["Content-Type"].startswith("application/json")
    assert fetch(api + "/me").status == 401
