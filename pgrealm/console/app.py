"""The console's HTTP handler (the package docstring lists its routes)."""

from __future__ import annotations

import base64
import json
import logging
import mimetypes
import tempfile
import threading
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import boto3
from botocore import xform_name
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from pgrealm.api.http import HttpRequest, HttpResponse
from pgrealm.client.doctor import Doctor, doctor_target
from pgrealm.client.krb5conf import render_krb5_conf
from pgrealm.client.target import Api, TargetError, instance_and_directory
from pgrealm.console.sessions import COOKIE, Credentials, Sessions, cookie_value

__all__ = ["Console", "with_console"]

log = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent / "static"
PREFIX = "/console"
_REGION = "us-east-1"
_CSRF_HEADER = "x-pgrealm-console"
_MAX_BODY = 1 << 20


class _Refused(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class Console:
    """Serves /console/: the page, and signed API calls on the signed-in user's behalf.

    ``api_url``: where the server's own API listens; ``services``: the ones it serves;
    ``home``: the stack's home (the doctor compares the instance's keytab there)."""

    def __init__(self, api_url: str, services: list[str], home: Path) -> None:
        self.api_url, self.services, self.home = api_url, set(services), home
        self.sessions = Sessions()
        self._clients: dict[tuple[str, str, str], Any] = {}
        self._lock = threading.Lock()

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path
        try:
            if path.startswith(f"{PREFIX}/api/"):
                return self._api(request, path.removeprefix(f"{PREFIX}/api/"))
            return self._static(path)
        except _Refused as exc:
            return _json(exc.status, {"error": {"code": exc.code, "message": exc.message}})

    # -- the page -----------------------------------------------------------------------
    def _static(self, path: str) -> HttpResponse:
        name = path.removeprefix(PREFIX).lstrip("/") or "index.html"
        if name.startswith("static/"):
            name = name.removeprefix("static/")
        target = (STATIC / name).resolve()
        if target.parent != STATIC or not target.is_file():  # no way out of static/
            target = STATIC / "index.html"  # the page routes the rest itself (#/...)
        kind = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        headers = {
            "Content-Type": f"{kind}; charset=utf-8" if kind.startswith("text/") else kind,
            "Cache-Control": "no-store",
            "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'",
            "X-Content-Type-Options": "nosniff",
        }
        return HttpResponse(200, headers, target.read_bytes())

    # -- the API ------------------------------------------------------------------------
    def _api(self, request: HttpRequest, route: str) -> HttpResponse:
        if request.method in ("POST", "DELETE") and request.header(_CSRF_HEADER) != "1":
            raise _Refused(403, "Forbidden", "Console requests carry X-Pgrealm-Console: 1.")
        if route == "session":
            return self._session(request)
        credentials = self._signed_in(request)
        handlers: dict[tuple[str, str], Callable[[], HttpResponse]] = {
            ("POST", "call"): lambda: self._call(credentials, _body(request)),
            ("GET", "krb5.conf"): lambda: self._krb5_conf(credentials, request),
            ("POST", "doctor"): lambda: self._doctor(credentials, _body(request)),
        }
        handler = handlers.get((request.method, route))
        if handler is None:
            raise _Refused(404, "NotFound", f"No console route {request.method} {route}.")
        return handler()

    def _session(self, request: HttpRequest) -> HttpResponse:
        session_id = cookie_value(request.header("cookie"))
        if request.method == "GET":
            return _json(200, {"account": self._signed_in(request).account})
        if request.method == "DELETE":
            self.sessions.close(session_id)
            return _json(200, {}, cookie=f"{COOKIE}=; Max-Age=0; Path={PREFIX}/")
        body = _body(request)
        key, secret = str(body.get("accessKeyId", "")), str(body.get("secretAccessKey", ""))
        if not key or not secret:
            raise _Refused(400, "ValidationError", "Give an access key and its secret.")
        try:  # the API itself says whether the key and secret sign correctly
            found = self._client(key, secret, "sts").get_caller_identity()
        except ClientError as exc:
            error = exc.response.get("Error", {})
            raise _Refused(403, str(error.get("Code")), str(error.get("Message"))) from exc
        account = str(found["Account"])
        new_id = self.sessions.open(Credentials(key, secret, account))
        cookie = f"{COOKIE}={new_id}; HttpOnly; SameSite=Strict; Path={PREFIX}/"
        return _json(200, {"account": account}, cookie=cookie)

    def _signed_in(self, request: HttpRequest) -> Credentials:
        found = self.sessions.get(cookie_value(request.header("cookie")))
        if found is None:
            raise _Refused(401, "NotSignedIn", "Sign in with an access key and secret.")
        return found

    def _call(self, who: Credentials, body: dict[str, Any]) -> HttpResponse:
        service, operation = str(body.get("service", "")), str(body.get("operation", ""))
        if service not in self.services:
            raise _Refused(400, "UnknownService", f"pgrealm serves no service {service!r}.")
        client = self._client(who.access_key, who.secret, service)
        if operation not in client.meta.service_model.operation_names:
            raise _Refused(400, "UnknownOperation", f"{service} has no operation {operation!r}.")
        params = body.get("params") or {}
        try:
            out = getattr(client, xform_name(operation))(**params)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 400)
            raise _Refused(status, str(error.get("Code")), str(error.get("Message"))) from exc
        except (BotoCoreError, TypeError) as exc:  # parameters the SDK would not send
            raise _Refused(400, "ValidationError", str(exc)) from exc
        out.pop("ResponseMetadata", None)
        return _json(200, out)

    def _krb5_conf(self, who: Credentials, request: HttpRequest) -> HttpResponse:
        ident = dict(request.query_params()).get("db", "")
        try:
            inst, directory = instance_and_directory(self._target_api(who), ident)
        except (TargetError, ClientError) as exc:
            raise _Refused(400, "NotJoined", str(exc)) from exc
        text = render_krb5_conf(directory.realm, directory.dcs, [inst.endpoint])
        headers = {
            "Content-Type": "text/plain; charset=utf-8",
            "Content-Disposition": 'attachment; filename="krb5.conf"',
        }
        return HttpResponse(200, headers, text.encode())

    def _doctor(self, who: Credentials, body: dict[str, Any]) -> HttpResponse:
        """``pgrealm client doctor`` for the chosen user, run here with the instance's
        krb5.conf: what this machine sees (the user's own ticket is on the user's side)."""
        api = self._target_api(who)
        try:
            target = doctor_target(
                api, str(body.get("db", "")), str(body.get("user", "")), self.home
            )
        except (TargetError, ClientError) as exc:
            raise _Refused(400, "NotJoined", str(exc)) from exc
        with tempfile.TemporaryDirectory(prefix="pgrealm-console-doctor-") as scratch:
            conf = Path(scratch) / "krb5.conf"
            conf.write_text(render_krb5_conf(target.realm, target.dcs, [target.endpoint]))
            env = {"PATH": "/usr/bin:/bin", "KRB5_CONFIG": str(conf),
                   "KRB5CCNAME": f"FILE:{scratch}/ccache"}  # fmt: skip
            report = Doctor(target, env).run()
        return HttpResponse(200, {"Content-Type": "application/json"}, report.to_json().encode())

    # -- signing on the user's behalf ----------------------------------------------------
    def _client(self, key: str, secret: str, service: str) -> Any:
        with self._lock:
            found = self._clients.get((key, secret, service))
            if found is None:
                found = boto3.session.Session().client(
                    service, endpoint_url=self.api_url, region_name=_REGION,
                    aws_access_key_id=key, aws_secret_access_key=secret,
                    config=Config(retries={"max_attempts": 1}, read_timeout=120),
                )  # fmt: skip
                self._clients[(key, secret, service)] = found
            return found

    def _target_api(self, who: Credentials) -> Api:
        return Api(self.api_url, _REGION, who.access_key, who.secret)


def with_console(
    api: Callable[[HttpRequest], HttpResponse], console: Console
) -> Callable[[HttpRequest], HttpResponse]:
    """The server's handler: /console/... to the console, everything else to the API."""

    def handle(request: HttpRequest) -> HttpResponse:
        path = request.path
        if path == PREFIX or path.startswith(f"{PREFIX}/"):
            return console(request)
        return api(request)

    return handle


def _body(request: HttpRequest) -> dict[str, Any]:
    if len(request.body) > _MAX_BODY:
        raise _Refused(413, "TooLarge", "A console request is at most 1 MB.")
    try:
        found = json.loads(request.body or b"{}")
    except ValueError as exc:
        raise _Refused(400, "ValidationError", "The request body is not JSON.") from exc
    if not isinstance(found, dict):
        raise _Refused(400, "ValidationError", "The request body is not a JSON object.")
    return found


def _plain(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    raise TypeError(f"not JSON: {type(value).__name__}")


def _json(status: int, doc: dict[str, Any], cookie: str | None = None) -> HttpResponse:
    headers = {"Content-Type": "application/json", "Cache-Control": "no-store"}
    if cookie is not None:
        headers["Set-Cookie"] = cookie
    return HttpResponse(status, headers, json.dumps(doc, default=_plain).encode())
