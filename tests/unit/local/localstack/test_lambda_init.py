"""local/localstack/lambda_init.py, the init that runs in LocalStack's Lambda containers: which
emulator answers are errors, which log lines belong to an invocation, and that an invocation is
acknowledged at once, then reported to LocalStack as its logs and then its result."""

import importlib.util
import json
import os
import socket
import threading
import urllib.error
import urllib.request
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from local.localstack import server

SCRIPT = Path(server.__file__).parent / "lambda_init.py"
EMULATOR_PATH = "/2015-03-31/functions/function/invocations"
WAIT = 10  # seconds before a wait counts as a hang; a passing test waits far less
POLL = 0.01  # how often a test server looks for its shutdown (serve_forever polls)


def load():
    """The script as a module: it is a file LocalStack copies into containers, not a package
    module, and it runs nothing on import."""
    spec = importlib.util.spec_from_file_location("lambda_init", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


lambda_init = load()

ERROR_DOCUMENT = json.dumps(
    {"errorMessage": "no image", "errorType": "ImageNotFound", "stackTrace": ["  File x"]}
).encode()


@pytest.mark.parametrize(
    ("answer", "kind"),
    [
        (b'{"statusCode": 200, "body": {"s3_key": "k"}}', "response"),
        (ERROR_DOCUMENT, "error"),
        (b'{"errorType": "a field of the result", "statusCode": 200}', "response"),
        (b"not json at all", "response"),
        (b"[1, 2]", "response"),
    ],
    ids=["result", "error document", "result with errorType", "not json", "json list"],
)
def test_an_answer_is_an_error_only_when_it_is_a_whole_error_document(answer, kind):
    """The emulator answers 200 either way: only the document's shape tells them apart, and a
    result may itself have an `errorType` field."""
    assert lambda_init.outcome(answer) == (kind, answer)


def test_the_emulators_timeout_text_becomes_a_sandbox_timeout_error():
    kind, body = lambda_init.outcome(b"Task timed out after 3.00 seconds")

    assert kind == "error"
    assert json.loads(body) == {
        "errorType": "Sandbox.Timedout",
        "errorMessage": "Task timed out after 3.00 seconds",
    }


@contextmanager
def emulator_output():
    """A pipe standing for the emulator's stdout: (an EmulatorLog reading it, a writer)."""
    read_fd, write_fd = os.pipe()
    with os.fdopen(read_fd, "rb") as reader, os.fdopen(write_fd, "wb") as writer:

        def write(*lines: str) -> None:
            writer.write("".join(line + "\n" for line in lines).encode())
            writer.flush()

        yield lambda_init.EmulatorLog(reader), write


FIRST = ["START RequestId: 1 Version: $LATEST", "first", "END RequestId: 1", "REPORT RequestId: 1"]


def test_an_invocations_log_is_its_lines_after_the_mark_without_the_emulators_own():
    with emulator_output() as (log, write):
        write(*FIRST)
        assert log.since(0) == "".join(line + "\n" for line in FIRST)  # all of them read
        mark = log.mark()
        write(
            "START RequestId: 2 Version: $LATEST",
            "04 Dec 2025 20:28:00,123 [INFO] (rapid) Received Invoke",
            "the function's line",
            "END RequestId: 2",
            "REPORT RequestId: 2 Duration: 1.00 ms",
        )

        logs = log.since(mark)

    assert logs == (
        "START RequestId: 2 Version: $LATEST\n"
        "the function's line\n"
        "END RequestId: 2\n"
        "REPORT RequestId: 2 Duration: 1.00 ms\n"
    )


def test_without_a_report_line_the_log_is_what_came_within_the_wait(monkeypatch):
    """An emulator that never prints REPORT (it died, or the line is late) delays the result
    by LOG_WAIT_SECONDS, not forever."""
    monkeypatch.setattr(lambda_init, "LOG_WAIT_SECONDS", 0.2)
    returned = []
    with emulator_output() as (log, write):
        write("START RequestId: 3 Version: $LATEST", "a line")
        waiting = threading.Thread(target=lambda: returned.append(log.since(0)))
        waiting.start()
        waiting.join(WAIT)

    assert returned == ["START RequestId: 3 Version: $LATEST\na line\n"]


class Recorder(BaseHTTPRequestHandler):
    """Records each POST (path, body) on its server, answering `server.answer` to it."""

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.received.append((self.path, body))
        status, answer = self.server.answer(self.path, body)
        self.send_response(status)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format: str, *args) -> None:
        pass


@contextmanager
def recording_server(answer):
    """A loopback HTTP server recording what is posted to it; yields it (its URL as `.url`)."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    httpd.received = []
    httpd.answer = answer
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, args=(POLL,), daemon=True)
    thread.start()
    try:
        yield httpd
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(WAIT)


@contextmanager
def container(emulator_answer: bytes, monkeypatch, emulator_url: str | None = None):
    """The init's invoke server, a fake LocalStack it reports to, and a fake emulator that
    answers `emulator_answer` once `release` is set, printing an invocation's lines first.
    Yields (post an invocation, release, LocalStack's recorder, the emulator's recorder,
    reported: set once LocalStack has a result)."""
    release = threading.Event()
    reported = threading.Event()

    def localstack_answer(path: str, body: bytes):
        if path.endswith(("/response", "/error")):
            reported.set()
        return 202, b""

    with (
        emulator_output() as (log, write),
        recording_server(localstack_answer) as localstack,
    ):

        def emulator_answer_for(path: str, body: bytes):
            release.wait(WAIT)
            write(
                "START RequestId: r Version: $LATEST",
                "[INFO] (rapid) Invoke",
                "hello from the function",
                "END RequestId: r",
                "REPORT RequestId: r Duration: 2.00 ms",
            )
            return 200, emulator_answer

        with recording_server(emulator_answer_for) as emulator:
            url = emulator_url or emulator.url + EMULATOR_PATH
            monkeypatch.setattr(lambda_init, "EMULATOR_INVOKE", url)
            invoker = lambda_init.Invoker(localstack.url, log, timeout=3)
            init = ThreadingHTTPServer(("127.0.0.1", 0), lambda_init.handler_for(invoker))
            thread = threading.Thread(target=init.serve_forever, args=(POLL,), daemon=True)
            thread.start()

            def invoke(path: str, invocation: dict) -> int:
                request = urllib.request.Request(
                    f"http://127.0.0.1:{init.server_address[1]}{path}",
                    data=json.dumps(invocation).encode(),
                    method="POST",
                )
                try:
                    with urllib.request.urlopen(request, timeout=WAIT) as answer:  # noqa: S310
                        return answer.status
                except urllib.error.HTTPError as error:
                    return error.code

            try:
                yield invoke, release, localstack, emulator, reported
            finally:
                release.set()
                init.shutdown()
                init.server_close()
                thread.join(WAIT)


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch):
    """urllib would send loopback requests through a proxy the environment names."""
    for name in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)


INVOCATION_LOGS = (
    "START RequestId: r Version: $LATEST\n"
    "hello from the function\n"
    "END RequestId: r\n"
    "REPORT RequestId: r Duration: 2.00 ms\n"
)


@pytest.mark.parametrize(
    ("answer", "kind"),
    [(b'{"statusCode": 200, "body": {"s3_key": "k"}}', "response"), (ERROR_DOCUMENT, "error")],
    ids=["result", "error document"],
)
def test_an_invocation_is_acknowledged_at_once_then_reported_as_logs_then_result(
    answer, kind, monkeypatch
):
    invocation = {"invoke-id": "abc-123", "payload": '{"s3_key": "test/x.png"}'}
    with container(answer, monkeypatch) as (invoke, release, localstack, emulator, reported):
        status = invoke("/invoke", invocation)
        reported_before_the_emulator_answered = reported.is_set()
        release.set()
        assert reported.wait(WAIT)

    assert status == 200 and not reported_before_the_emulator_answered
    assert emulator.received == [(EMULATOR_PATH, b'{"s3_key": "test/x.png"}')]
    assert localstack.received == [
        ("/invocations/abc-123/logs", json.dumps({"logs": INVOCATION_LOGS}).encode()),
        (f"/invocations/abc-123/{kind}", answer),
    ]


def test_an_emulator_that_cannot_be_reached_is_reported_as_an_error(monkeypatch):
    """The invocation still ends, as an error that says so, instead of LocalStack waiting
    for its timeout."""
    monkeypatch.setattr(lambda_init, "LOG_WAIT_SECONDS", 0.05)
    with (
        socket_closed_port() as port,
        container(b"", monkeypatch, emulator_url=f"http://127.0.0.1:{port}{EMULATOR_PATH}") as (
            invoke,
            _,
            localstack,
            emulator,
            reported,
        ),
    ):
        status = invoke("/invoke", {"invoke-id": "abc-123", "payload": "{}"})
        assert reported.wait(WAIT)

    assert status == 200 and emulator.received == []
    (logs_path, logs), (error_path, error) = localstack.received
    assert (logs_path, json.loads(logs)) == ("/invocations/abc-123/logs", {"logs": ""})
    assert error_path == "/invocations/abc-123/error"
    assert json.loads(error)["errorType"] == "Runtime.Unknown"
    assert json.loads(error)["errorMessage"].startswith("emulator: ")


def test_another_path_is_not_found(monkeypatch):
    with container(b"{}", monkeypatch) as (invoke, _, localstack, emulator, _):
        status = invoke("/status", {})

    assert status == 404 and localstack.received == [] and emulator.received == []


@contextmanager
def socket_closed_port():
    """A loopback port nothing listens on (bound, never listening, so no one else takes it)."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        yield held.getsockname()[1]
