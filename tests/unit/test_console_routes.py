"""The console's routes without a server behind them: the page and nothing else of the
disk, the header every write must carry, and no API call without a session."""

from __future__ import annotations

import json
from pathlib import Path

from pgrealm.api.http import HttpRequest, HttpResponse
from pgrealm.console import Console, with_console
from pgrealm.console.sessions import COOKIE, Credentials, Sessions, cookie_value


def _request(method: str, path: str, body: bytes = b"", **headers: str) -> HttpRequest:
    return HttpRequest(method, path, "", {k.replace("_", "-"): v for k, v in headers.items()},
                       body)  # fmt: skip


def _console(tmp_path: Path) -> Console:
    return Console("http://127.0.0.1:1", ["rds", "sts"], tmp_path)


def test_the_page_is_served_and_nothing_outside_it(tmp_path: Path) -> None:
    console = _console(tmp_path)
    page = console(_request("GET", "/console/"))
    assert page.status == 200 and page.headers["Content-Type"].startswith("text/html")
    for sneaky in ("/console/../../etc/passwd", "/console/static/..%2F..%2Fapp.py",
                   "/console/static/../app.py"):  # fmt: skip
        answer = console(_request("GET", sneaky))
        assert answer.body == page.body, sneaky  # the page again, never the file


def test_writes_need_the_console_header_and_calls_a_session(tmp_path: Path) -> None:
    console = _console(tmp_path)
    body = json.dumps({"service": "rds", "operation": "DescribeDBInstances"}).encode()
    forged = console(_request("POST", "/console/api/call", body))
    assert forged.status == 403
    anonymous = console(_request("POST", "/console/api/call", body, x_pgrealm_console="1"))
    assert anonymous.status == 401
    assert json.loads(anonymous.body)["error"]["code"] == "NotSignedIn"
    empty = console(_request("POST", "/console/api/session", b"{}", x_pgrealm_console="1"))
    assert empty.status == 400


def test_only_console_paths_reach_the_console(tmp_path: Path) -> None:
    seen: list[str] = []

    def api(request: HttpRequest) -> HttpResponse:
        seen.append(request.path)
        return HttpResponse(200)

    handle = with_console(api, _console(tmp_path))
    handle(_request("POST", "/"))
    handle(_request("GET", "/consoleish"))
    assert handle(_request("GET", "/console/")).status == 200
    assert seen == ["/", "/consoleish"]


def test_sessions_forget_idle_and_closed_ones() -> None:
    sessions = Sessions(idle=0.0)
    gone = sessions.open(Credentials("test", "test", "000000000000"))
    assert sessions.get(gone) is None
    sessions = Sessions()
    kept = sessions.open(Credentials("test", "test", "000000000000"))
    assert sessions.get(kept) is not None
    sessions.close(kept)
    assert sessions.get(kept) is None
    assert cookie_value(f"a=b; {COOKIE}=xyz; c=d") == "xyz"
