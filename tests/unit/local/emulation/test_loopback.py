"""What both loopback servers do alike: refuse bodies they cannot read, before reading them."""

import socket
from urllib.parse import urlsplit

import pytest

from local.emulation.endpoint import ModelEndpoint
from local.emulation.lambda_server import LambdaInvokeServer
from local.emulation.loopback import MAX_BODY_BYTES

SERVICES = {
    "lambda": (
        lambda: LambdaInvokeServer({"Echo": lambda event, context: event}),
        "/2015-03-31/functions/Echo/invocations",
    ),
    "endpoint": (
        lambda: ModelEndpoint(lambda image: [0.5, 0.5], endpoint_name="unit-endpoint"),
        "/endpoints/unit-endpoint/invocations",
    ),
}


@pytest.fixture(params=SERVICES)
def service(request):
    make, path = SERVICES[request.param]
    with make() as served:
        yield served, path


def exchange(url: str, head: str, body: bytes = b"") -> tuple[int, bytes]:
    """Status and whole answer of one raw request; the server closes the connection after it."""
    address = urlsplit(url)
    with socket.create_connection((address.hostname, address.port), timeout=10) as connection:
        connection.sendall(head.encode() + b"\r\n" + body)
        answer = connection.makefile("rb").read()
    return int(answer.split(b" ", 2)[1]), answer


def post(path: str, content_length: str) -> str:
    return (
        f"POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: image/png\r\n"
        f"Content-Length: {content_length}\r\n"
    )


@pytest.mark.parametrize("content_length", ["-1", "abc", "1.5", "", "²"])
def test_an_invalid_content_length_is_a_400_and_the_connection_ends(service, content_length):
    served, path = service

    status, answer = exchange(served.url, post(path, content_length))

    assert status == 400
    assert b"invalid Content-Length" in answer


@pytest.mark.parametrize("content_length", [str(MAX_BODY_BYTES + 1), "9" * 5_000])
def test_a_huge_content_length_is_refused_before_the_body_is_sent(service, content_length):
    served, path = service

    status, answer = exchange(served.url, post(path, content_length))  # no body follows

    assert status == 413
    assert b"RequestEntityTooLargeException" in answer


def test_the_server_still_answers_after_refusing(service):
    served, path = service
    exchange(served.url, post(path, "-1"))

    status, _ = exchange(served.url, post(path, "2") + "Connection: close\r\n", b"{}")

    assert status == 200
