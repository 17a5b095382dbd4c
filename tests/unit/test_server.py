"""The HTTP shell, over real sockets on 127.0.0.1."""

from __future__ import annotations

import http.client
import json
import logging
import socket
import time
import urllib.request
from collections.abc import Iterator

import pytest

from pgrealm.api.http import HttpRequest, HttpResponse
from pgrealm.api.server import ApiServer, serve_in_thread


def echo(request: HttpRequest) -> HttpResponse:
    if request.path == "/boom":
        raise RuntimeError("handler bug")
    payload = {
        "method": request.method,
        "path": request.path,
        "query": request.query_string,
        "headers": request.headers,
        "body": request.body.decode(),
    }
    return HttpResponse(
        200, {"Content-Type": "application/json", "X-Echo": "1"}, json.dumps(payload).encode()
    )


@pytest.fixture
def server() -> Iterator[ApiServer]:
    with serve_in_thread(echo, "127.0.0.1", 0) as srv:
        yield srv


def connect(server: ApiServer) -> http.client.HTTPConnection:
    host, port = server.server_address
    return http.client.HTTPConnection(host, port, timeout=5)


def test_urllib_post(server: ApiServer) -> None:
    request = urllib.request.Request(
        server.url + "/a%20b/c?x=1&y=%2F",
        data=b"Action=Ping",
        method="POST",
        headers={"Content-Type": "application/x-www-form-urlencoded", "X-Amz-Date": "z"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.status == 200
        assert response.headers["X-Echo"] == "1"
        got = json.loads(response.read())
    assert got["method"] == "POST"
    assert got["path"] == "/a%20b/c"
    assert got["query"] == "x=1&y=%2F"
    assert got["body"] == "Action=Ping"
    assert got["headers"]["x-amz-date"] == "z"
    assert got["headers"]["content-type"] == "application/x-www-form-urlencoded"


def test_keep_alive_two_requests_one_connection(server: ApiServer) -> None:
    conn = connect(server)
    conn.request("POST", "/one", body=b"first")
    first = conn.getresponse()
    assert json.loads(first.read())["body"] == "first"
    sock = conn.sock
    conn.request("GET", "/two?q=1")
    second = conn.getresponse()
    got = json.loads(second.read())
    assert conn.sock is sock  # same socket: the server kept the connection open
    assert (got["path"], got["query"], got["body"]) == ("/two", "q=1", "")
    conn.close()


def test_chunked_body(server: ApiServer) -> None:
    conn = connect(server)
    conn.request(
        "POST",
        "/",
        body=iter([b"hello ", b"chunked ", b"world"]),
        encode_chunked=True,
        headers={"Transfer-Encoding": "chunked"},
    )
    assert json.loads(conn.getresponse().read())["body"] == "hello chunked world"
    conn.request("GET", "/after")  # the connection survives a chunked body
    assert json.loads(conn.getresponse().read())["path"] == "/after"
    conn.close()


def test_expect_100_continue(server: ApiServer) -> None:
    host, port = server.server_address
    with socket.create_connection((host, port), timeout=5) as sock:
        sock.sendall(
            b"POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n"
        )
        interim = sock.recv(1024)
        assert interim.startswith(b"HTTP/1.1 100")
        sock.sendall(b"body")
        reply = b""
        while b"}" not in reply:
            reply += sock.recv(4096)
    assert reply.startswith(b"HTTP/1.1 200")
    assert b'"body": "body"' in reply


def test_handler_exception_is_500_and_server_lives(server: ApiServer) -> None:
    conn = connect(server)
    conn.request("GET", "/boom")
    response = conn.getresponse()
    assert response.status == 500
    assert response.read() == b"Internal Server Error\n"
    conn.request("GET", "/fine")
    assert conn.getresponse().status == 200
    conn.close()


def test_head_has_no_body(server: ApiServer) -> None:
    conn = connect(server)
    conn.request("HEAD", "/h")
    response = conn.getresponse()
    assert response.status == 200
    assert int(response.headers["Content-Length"]) > 0
    assert response.read() == b""
    conn.close()


def test_bad_content_length(server: ApiServer) -> None:
    host, port = server.server_address
    with socket.create_connection((host, port), timeout=5) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: nope\r\n\r\n")
        assert sock.recv(1024).startswith(b"HTTP/1.1 400")


def test_logs_no_bodies(server: ApiServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="pgrealm.api.server")
    conn = connect(server)
    conn.request("POST", "/secret?Action=x", body=b"MasterUserPassword=hunter2")
    conn.getresponse().read()
    conn.close()
    # the server thread logs after it has written the response, so give it a moment
    deadline = time.monotonic() + 5
    while not any("POST /secret -> 200" in r.getMessage() for r in caplog.records):
        assert time.monotonic() < deadline, caplog.text
        time.sleep(0.01)
    assert "hunter2" not in caplog.text


def test_shutdown_without_serving() -> None:
    ApiServer(echo, "127.0.0.1", 0).shutdown()  # must not hang


def test_boto3_signature_survives_the_wire() -> None:
    """A real boto3 call: routing and SigV4 agree with what arrives through the server."""
    import boto3

    from pgrealm.api import routing, sigv4

    seen: list[sigv4.Identity] = []

    def handler(request: HttpRequest) -> HttpResponse:
        service = routing.route(request)
        seen.append(sigv4.verify(request, routing.AUTH_FAMILY[service]))
        body = (
            '<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
            "<GetCallerIdentityResult><Arn>arn:aws:iam::000000000000:root</Arn>"
            "<UserId>000000000000</UserId><Account>000000000000</Account>"
            "</GetCallerIdentityResult><ResponseMetadata><RequestId>r</RequestId>"
            "</ResponseMetadata></GetCallerIdentityResponse>"
        )
        return HttpResponse(200, {"Content-Type": "text/xml"}, body.encode())

    with serve_in_thread(handler) as srv:
        client = boto3.session.Session(
            aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1"
        ).client("sts", endpoint_url=srv.url)
        for _ in range(2):
            assert client.get_caller_identity()["Account"] == "000000000000"
    assert [i.service for i in seen] == ["sts", "sts"]
