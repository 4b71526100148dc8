"""The physiotherapist's web app (Starlette, Jinja2 with autoescaping).

Pages: ``/signin``, ``/`` (the patient list, by what needs attention),
``/patients/<id>`` (the patient's weeks with charts, recent events, the plan
form and the replies to earlier changes, the remote-monitoring record);
``POST /patients/<id>/plan`` publishes the plan change (``plan.PlanSender``);
``POST /patients/<id>/reviews`` logs review minutes or a contact, and
``/patients/<id>/reviews.csv`` and ``monitoring.csv`` export the log and the
days with data per 30-day period (``reviews``). JSON: ``/api/patients``,
``/api/patients/<id>`` and ``/api/openapi.json``, the OpenAPI document that
describes them (``openapi``). Everything needs a signed-in user; the JSON
also takes a read-only API token (``tokens``) as ``Authorization: Bearer``,
which acts as its owner for GET and HEAD and is refused (403) for any other
method on any route.

Sessions: a signed cookie (Starlette's ``SessionMiddleware``: itsdangerous,
HttpOnly, SameSite=Lax, Secure with ``[web] https_only``, keyed by
``[web] secret_file``) carries a random token naming a session row in the
database (``auth``); every request checks the row and the user's entry in
the users file, so signing out, a new password or removing the user ends the
session, and a cookie copied before then signs in nobody. Sign-in is
throttled per account and per client address, and the argon2 checks running
at once are bounded (``auth.Throttle``, ``auth.HashGate``). Every form
carries the session's CSRF token. No page runs a script; the
Content-Security-Policy says so. TLS is the reverse proxy's job
(config/clinic/nginx.conf); uvicorn trusts its X-Forwarded-* headers from
127.0.0.1 only.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from pacer.clinic import auth, openapi, reviews, tokens, views
from pacer.clinic.charts import week_chart
from pacer.clinic.config import ClinicConfig
from pacer.clinic.db import Database
from pacer.clinic.plan import PATIENT_ID, PlanSender
from pacer.clinic.views import ATTENTION, event_text, patient_list, patient_view
from pacer.engine.numbers import grouped, percent
from pacer.engine.settings import setting_range
from pacer.errors import PacerError
from pacer.report import redflags

log = logging.getLogger(__name__)

SESSION_MAX_AGE_S = 8 * 3600
TOKEN_USE_EVERY_S = 60.0  # how often a token's last use is written
# The settings the form offers, with the range the daemon accepts (the engine's
# own, read from its rule tables; the daemon checks again). The walk length is
# the plan's walk (walks.target_min), not the shortest run that counts as one.
FORM_SETTINGS = tuple(
    (key, label, *setting_range(key)) for key, label in (
        ("plan.quota", "daily step quota"),
        ("sitting.limit_min", "sitting limit, minutes"),
        ("walks.target_min", "planned walk length, minutes"),
    ))
HEADERS = {
    "Content-Security-Policy": ("default-src 'none'; style-src 'unsafe-inline'; "
                                "img-src 'self' data:; form-action 'self'; "
                                "frame-ancestors 'none'; base-uri 'none'"),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

MAX_WHY = 300
FORM_ERRORS = {
    "expired": "The form had expired; nothing was sent. Please try again.",
    "number": "Settings must be whole numbers; nothing was sent.",
    "range": "A setting is outside what pacer accepts (see each field's range); "
             "nothing was sent.",
    "empty": "Give a reason and at least one change; nothing was sent.",
    "long": f"The reason can have at most {MAX_WHY} characters; nothing was sent.",
    "broker": "The broker could not be reached; nothing was sent.",
}
MAX_PASSWORD = 1024  # characters of a password checked (the form's own limit is smaller)

Handler = Callable[[Request], Awaitable[Response]]


def plan_settings(fields: dict[str, str]) -> tuple[dict[str, int], str | None]:
    """The form's filled-in settings as numbers, or the ``FORM_ERRORS`` key of
    the first problem; the daemon checks them again against its own ranges."""
    settings: dict[str, int] = {}
    for key, _label, lo, hi in FORM_SETTINGS:
        text = fields.get(key, "").strip()
        if not text:
            continue
        if not text.isascii() or not text.isdigit():
            return {}, "number"
        value = int(text)
        if not lo <= value <= hi:
            return {}, "range"
        settings[key] = value
    return settings, None


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=True, undefined=jinja2.ChainableUndefined)
    env.filters["when"] = _when
    env.filters["pct"] = lambda v: percent(v) if _number(v) else "–"
    env.filters["num"] = lambda v: grouped(int(v)) if _number(v) else "–"
    env.filters["at"] = _at  # a time from a patient's message, in the patient's own zone
    env.filters["event"] = event_text
    env.filters["waking_day"] = views.waking_day
    env.filters["walks_nudges"] = views.walks_nudges
    env.filters["inferred_share"] = views.inferred_share
    env.filters["mostly_inferred"] = views.mostly_inferred
    return env


def _number(value: object) -> bool:
    """A finite number to show (a missing field is Jinja's Undefined, not None)."""
    return (isinstance(value, int | float) and not isinstance(value, bool)
            and abs(value) < 1e15)


def _when(value: object) -> str:
    if not _number(value):
        return "–"
    try:
        return datetime.fromtimestamp(float(value)).strftime("%d %b %H:%M")  # type: ignore[arg-type]
    except (OverflowError, OSError, ValueError):
        return "–"


def _at(value: object) -> str:
    return redflags.at(value if isinstance(value, datetime) else redflags.when(value))


class ClinicApp:
    """The app's state: config, database, MQTT sender, templates."""

    def __init__(self, config: ClinicConfig, db: Database | None = None,
                 sender: PlanSender | None = None) -> None:
        self.config = config
        self.db = db or Database(config.database)
        self.sender = sender or PlanSender(config, self.db)
        self.env = _environment()
        self.users = auth.UsersFile(config.web.users_file)
        self.throttle = auth.Throttle()
        self.gate = auth.HashGate()

    def render(self, request: Request, name: str, status: int = 200,
               **context: Any) -> HTMLResponse:
        session = request.session
        html = self.env.get_template(name).render(
            user=getattr(request.state, "user", None), csrf=auth.csrf_token(session),
            **context)
        return HTMLResponse(html, status_code=status, headers=HEADERS)

    # --- sessions ------------------------------------------------------------------------

    def session_user(self, token: str) -> str | None:
        """The signed-in user of the session named ``token``, or None (no such
        session, expired, or its user's password changed or the user removed:
        the row is deleted then). Blocking: call from a thread."""
        found = self.db.session(token)
        if found is None:
            return None
        name, password = found
        hashed = self.users.hash_of(name)
        if hashed is None or not secrets.compare_digest(auth.fingerprint(hashed), password):
            self.db.drop_session(token)
            log.info("session of %s ended: %s", name,
                     "removed from the users file" if hashed is None else "new password")
            return None
        return name

    def token_user(self, text: str, now: float) -> str | None:
        """The owner of the live API token ``text``, or None (malformed, unknown,
        wrong secret, revoked, expired, or its owner removed from the users
        file); notes its use. Blocking: call from a thread. The token itself
        is never logged, only its id."""
        parts = tokens.split(text)
        found = self.db.tokens(parts[0]) if parts is not None else []
        stored = found[0] if found else None
        matches = tokens.secret_matches(stored, parts[1] if parts is not None else "")
        if stored is None or not matches:
            log.warning("API request with an unknown or malformed token refused")
            return None
        state = stored.state(now)
        if state != "active":
            log.warning("API token %s of %s refused: %s", stored.id, stored.user, state)
            return None
        if self.users.hash_of(stored.user) is None:
            log.warning("API token %s refused: %s is no longer in the users file",
                        stored.id, stored.user)
            return None
        if stored.last_used_at is None or now - stored.last_used_at >= TOKEN_USE_EVERY_S:
            self.db.token_used(stored.id, now, TOKEN_USE_EVERY_S)  # no write per request
        return stored.user

    # --- sign-in -----------------------------------------------------------------------

    async def signin_page(self, request: Request) -> Response:
        return self.render(request, "signin.html.j2", error=None)

    async def signin(self, request: Request) -> Response:
        form = await request.form()
        if not auth.csrf_ok(request.session, form.get("csrf")):
            return self.render(request, "signin.html.j2", 400,
                               error="The form had expired; please sign in again.")
        name = str(form.get("name", ""))[:64]
        password = str(form.get("password", ""))[:MAX_PASSWORD]
        address = request.client.host if request.client else "unknown"
        refused = self.throttle.refused(name, address)
        if refused is not None:
            kind, wait = refused
            log.warning("sign-in for %r from %s refused: too many failed attempts for this "
                        "%s", name, address, kind)
            minutes = max(1, round(wait / 60))
            return self.render(request, "signin.html.j2", 429,
                               error=f"Too many failed sign-ins; try again in {minutes} "
                                     f"minute{'s' if minutes > 1 else ''}.")
        self.throttle.failed(name, address)  # until it succeeds
        try:
            ok = await self.gate.run(auth.verify, self.config.web.users_file, name, password)
        except auth.Busy as exc:
            self.throttle.forgive(name, address)
            log.warning("sign-in for %r from %s refused: busy (%s)", name, address, exc)
            return self.render(request, "signin.html.j2", 503,
                               error="Too many sign-ins at once; please try again shortly.")
        if not ok:
            log.warning("failed sign-in for %r from %s", name, address)
            return self.render(request, "signin.html.j2", 401,
                               error="That name and password do not match.")
        self.throttle.forgive(name, address, all_of_account=True)
        token = secrets.token_urlsafe(32)
        hashed = await asyncio.to_thread(self.users.hash_of, name)
        await asyncio.to_thread(self.db.add_session, token, name,
                                auth.fingerprint(hashed or ""), SESSION_MAX_AGE_S)
        request.session.clear()
        request.session["sid"] = token
        log.info("%s signed in from %s", name, address)
        return RedirectResponse("/", 303)

    async def signout(self, request: Request) -> Response:
        form = await request.form()
        if auth.csrf_ok(request.session, form.get("csrf")):
            token = request.session.get("sid")
            if isinstance(token, str):
                await asyncio.to_thread(self.db.drop_session, token)
            request.session.clear()
        return RedirectResponse("/signin", 303)

    # --- pages ---------------------------------------------------------------------------

    async def patients(self, request: Request) -> Response:
        rows = await asyncio.to_thread(patient_list, self.db, self.config.clinic)
        return self.render(request, "patients.html.j2", rows=rows, attention=ATTENTION,
                           red_flag_reasons=ATTENTION[:2])

    async def patient(self, request: Request) -> Response:
        pid = request.path_params["patient"]
        view = await asyncio.to_thread(patient_view, self.db, self.config.clinic, pid) \
            if PATIENT_ID.match(pid) else None
        if view is None:
            return self.render(request, "missing.html.j2", 404, patient=pid)
        charts = {w.week: await asyncio.to_thread(_chart, w.week, w.days)
                  for w in view.weeks}
        record = await asyncio.to_thread(reviews.record, self.db, pid)
        return self.render(request, "patient.html.j2", view=view, charts=charts,
                           settings=FORM_SETTINGS, connected=self.sender.connected,
                           shown=request.query_params.get("request"), max_why=MAX_WHY,
                           error=FORM_ERRORS.get(request.query_params.get("error", "")),
                           record=record, kinds=reviews.KINDS, max_what=reviews.MAX_WHAT,
                           max_minutes=reviews.MAX_MINUTES, review_shown=reviews.SHOWN,
                           logged=request.query_params.get("logged"),
                           review_error=reviews.FORM_ERRORS.get(
                               request.query_params.get("review_error", "")))

    async def plan(self, request: Request) -> Response:
        pid = request.path_params["patient"]
        if not PATIENT_ID.match(pid):
            return self.render(request, "missing.html.j2", 404, patient=pid)
        form = await request.form()
        if not auth.csrf_ok(request.session, form.get("csrf")):
            return RedirectResponse(f"/patients/{pid}?error=expired", 303)
        why = str(form.get("why", "")).strip()
        settings, error = plan_settings({k: str(form.get(k, "")) for k, *_ in FORM_SETTINGS})
        clear = form.get("clear_alert") == "yes"
        if error is None and (not why or not (settings or clear)):
            error = "empty"
        if error is None and len(why) > MAX_WHY:
            error = "long"
        if error is not None:
            return RedirectResponse(f"/patients/{pid}?error={error}", 303)
        try:
            req_id, _reply = await self.sender.send(pid, str(request.state.user), why,
                                                    settings, clear)
        except PacerError as exc:
            log.warning("plan change for %s not sent: %s", pid, exc)
            return RedirectResponse(f"/patients/{pid}?error=broker", 303)
        return RedirectResponse(f"/patients/{pid}?request={req_id}#plan", 303)

    # --- remote-monitoring records: the review log and its exports ---------------------

    async def _known(self, pid: str) -> bool:
        """A patient of this clinic (what every signed-in clinician may see)."""
        return bool(PATIENT_ID.match(pid)) and pid in await asyncio.to_thread(
            views.patient_ids, self.db, self.config.clinic)

    async def review(self, request: Request) -> Response:
        """Log review minutes or a contact for the patient, as the signed-in clinician."""
        pid = request.path_params["patient"]
        if not await self._known(pid):
            return self.render(request, "missing.html.j2", 404, patient=pid)
        form = await request.form()
        if not auth.csrf_ok(request.session, form.get("csrf")):
            return RedirectResponse(f"/patients/{pid}?review_error=expired#reviews", 303)
        entry = reviews.parse({k: str(form.get(k, "")) for k in ("minutes", "kind", "what",
                                                                  "when")},
                              patient=pid, by=str(request.state.user),
                              now=datetime.now().astimezone())
        if isinstance(entry, str):
            return RedirectResponse(f"/patients/{pid}?review_error={entry}#reviews", 303)
        stored = await asyncio.to_thread(reviews.add, self.db, entry)
        log.info("%s logged %d minutes (%s) for %s", stored.by, stored.minutes, stored.kind,
                 pid)
        return RedirectResponse(f"/patients/{pid}?logged={stored.id}#reviews", 303)

    async def review_export(self, request: Request) -> Response:
        """``reviews.csv``: the log; ``monitoring.csv``: days with data and review
        minutes per 30-day period."""
        pid = request.path_params["patient"]
        if not await self._known(pid):
            return self.render(request, "missing.html.j2", 404, patient=pid)
        record = await asyncio.to_thread(reviews.record, self.db, pid)
        name = request.url.path.rsplit("/", 1)[-1]
        text = (reviews.log_csv(record, datetime.now().astimezone().tzinfo or UTC)
                if name == "reviews.csv" else reviews.periods_csv(record))
        return Response(text, media_type="text/csv; charset=utf-8", headers={
            **HEADERS, "Content-Disposition": f'attachment; filename="{pid}-{name}"'})

    # --- JSON ---------------------------------------------------------------------------

    async def api_patients(self, request: Request) -> Response:
        rows = await asyncio.to_thread(patient_list, self.db, self.config.clinic)
        return JSONResponse({"patients": [r.as_json() for r in rows]}, headers=HEADERS)

    async def api_patient(self, request: Request) -> Response:
        pid = request.path_params["patient"]
        view = await asyncio.to_thread(patient_view, self.db, self.config.clinic, pid) \
            if PATIENT_ID.match(pid) else None
        if view is None:
            return JSONResponse({"error": "no such patient"}, 404, headers=HEADERS)
        return JSONResponse(view.as_json(), headers=HEADERS)

    async def api_openapi(self, request: Request) -> Response:
        return JSONResponse(openapi.document(), headers=HEADERS)


def _chart(week: str, days: tuple[Any, ...]) -> Markup:
    try:
        return Markup(week_chart(week, days))  # noqa: S704 - our own SVG
    except Exception:  # one week's figures never break the page
        log.exception("no chart for week %s", week)
        return Markup('<p class="muted">No chart for this week.</p>')


def _signed_in(clinic: ClinicApp, handler: Handler, api: bool = False) -> Handler:
    """``handler`` for a signed-in user; with ``api``, or for an API token's
    owner (a token sent to a page is not looked at: the page needs a session)."""
    async def guarded(request: Request) -> Response:
        sent = tokens.bearer(request.headers.get("authorization")) if api else None
        if sent is not None:
            owner = await asyncio.to_thread(clinic.token_user, sent, time.time())
            if owner is None:
                return JSONResponse({"error": "the API token is not valid: it may be "
                                              "revoked or expired; ask for a new one"}, 401,
                                    headers={**HEADERS, "WWW-Authenticate": _INVALID})
            request.state.user = owner
            return await handler(request)
        token = request.session.get("sid")
        user = (await asyncio.to_thread(clinic.session_user, token)
                if isinstance(token, str) else None)
        if user is None:
            request.session.pop("sid", None)
            if api:
                return JSONResponse({"error": "sign in first"}, 401, headers=HEADERS)
            return RedirectResponse("/signin", 303)
        request.state.user = user
        return await handler(request)
    return guarded


_INVALID = 'Bearer error="invalid_token"'
_READING = frozenset({"GET", "HEAD"})


class ReadOnlyTokens:
    """Refuse (403) any request that carries a bearer token with a method other
    than GET or HEAD, on every route, before routing: tokens only read."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] not in _READING and any(
                k == b"authorization" and tokens.bearer(v.decode("latin-1")) is not None
                for k, v in scope["headers"]):
            response = JSONResponse({"error": "API tokens only read (GET or HEAD); sign in "
                                              "to the web app to change anything"}, 403,
                                    headers=HEADERS)
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def create_app(config: ClinicConfig, *, db: Database | None = None,
               sender: PlanSender | None = None, connect: bool = True) -> Starlette:
    """The ASGI app; ``connect`` False leaves MQTT alone (tests of pages only)."""
    clinic = ClinicApp(config, db, sender)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        if connect:
            await clinic.sender.start()
        try:
            yield
        finally:
            if connect:
                await clinic.sender.stop()

    routes = [
        Route("/signin", clinic.signin_page, methods=["GET"]),
        Route("/signin", clinic.signin, methods=["POST"]),
        Route("/signout", clinic.signout, methods=["POST"]),
        Route("/", _signed_in(clinic, clinic.patients)),
        Route("/patients/{patient}", _signed_in(clinic, clinic.patient)),
        Route("/patients/{patient}/plan", _signed_in(clinic, clinic.plan), methods=["POST"]),
        Route("/patients/{patient}/reviews", _signed_in(clinic, clinic.review),
              methods=["POST"]),
        Route("/patients/{patient}/reviews.csv", _signed_in(clinic, clinic.review_export)),
        Route("/patients/{patient}/monitoring.csv", _signed_in(clinic, clinic.review_export)),
        Route("/api/patients", _signed_in(clinic, clinic.api_patients, api=True)),
        Route("/api/patients/{patient}", _signed_in(clinic, clinic.api_patient, api=True)),
        Route("/api/openapi.json", _signed_in(clinic, clinic.api_openapi, api=True)),
    ]
    secret = auth.load_secret(config.web.secret_file)
    middleware = [Middleware(ReadOnlyTokens),
                  Middleware(SessionMiddleware, secret_key=secret,
                             session_cookie="pacer_clinic", max_age=SESSION_MAX_AGE_S,
                             same_site="lax", https_only=config.web.https_only)]
    app = Starlette(routes=routes, middleware=middleware, lifespan=lifespan)
    app.state.clinic = clinic
    return app


def serve(config: ClinicConfig) -> int:
    """``pacer clinic serve``: uvicorn on ``[web] host:port`` until SIGTERM."""
    import uvicorn  # noqa: PLC0415 - only the server needs it

    app = create_app(config)
    uvicorn.run(app, host=config.web.host, port=config.web.port, log_level="info",
                proxy_headers=True, forwarded_allow_ips="127.0.0.1")
    return 0
