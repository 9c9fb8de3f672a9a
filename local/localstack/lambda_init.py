#!/usr/bin/python3.13
"""LocalStack's Lambda container init, offline: LocalStack's calls relayed to AWS's emulator.

LocalStack starts each function container with `/var/rapid/init` as its entrypoint, an init it
normally downloads. Offline, this script is that init (`server.install_init` puts it where
LocalStack looks). It runs as PID 1 inside the runtime image, with the image's Python and its
standard library only, and speaks LocalStack's side of the protocol
(`localstack/services/lambda_/invocation/executor_endpoint.py`):

1. starts AWS's Runtime Interface Emulator (the `aws-lambda-rie` SAM CLI ships, copied in
   beside this script) on the runtime's `/var/runtime/bootstrap`;
2. posts `{LOCALSTACK_RUNTIME_ENDPOINT}/status/{LOCALSTACK_RUNTIME_ID}/ready`;
3. takes `POST /invoke` on port 9563 (`{"invoke-id", "payload", ...}`), answers 200 at once,
   sends the payload to the emulator, then posts the invocation's log lines to
   `.../invocations/{invoke-id}/logs` and its result to `.../response` or `.../error`.

The emulator enforces the function's timeout (`AWS_LAMBDA_FUNCTION_TIMEOUT`) and answers
every invocation with status 200: a function error is its JSON error document
(`errorMessage`, `errorType`, `stackTrace`), a timeout the text "Task timed out after ...".
"""

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

EMULATOR = "/var/rapid/aws-lambda-rie"
EMULATOR_ADDRESS = "127.0.0.1:8080"  # the container's loopback: only this init calls it
EMULATOR_INVOKE = f"http://{EMULATOR_ADDRESS}/2015-03-31/functions/function/invocations"
INVOKE_PORT = 9563
ERROR_DOCUMENT_KEYS = {"errorMessage", "errorType", "stackTrace"}
LOG_WAIT_SECONDS = 2.0  # for the emulator's REPORT line, printed around its answer


class EmulatorLog:
    """The emulator's output (the function's own lines among them), kept per invocation."""

    def __init__(self, stream) -> None:
        self._lines: list[str] = []
        self._changed = threading.Condition()
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream) -> None:
        for raw in stream:
            line = raw.decode("utf-8", "replace")
            sys.stdout.write(line)
            sys.stdout.flush()
            with self._changed:
                self._lines.append(line)
                self._changed.notify_all()

    def mark(self) -> int:
        with self._changed:
            return len(self._lines)

    def since(self, mark: int) -> str:
        """The lines after `mark` up to the invocation's REPORT line, without the emulator's
        own `(rapid)` lines (which are not the function's and AWS does not log)."""
        deadline = time.monotonic() + LOG_WAIT_SECONDS
        with self._changed:
            while not any(line.startswith("REPORT ") for line in self._lines[mark:]):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._changed.wait(remaining)
            lines = self._lines[mark:]
        return "".join(line for line in lines if "(rapid)" not in line)


def post(url: str, body: bytes) -> None:
    request = urllib.request.Request(url, data=body, method="POST")  # noqa: S310 (LocalStack)
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=30):  # noqa: S310
        pass


def outcome(answer: bytes) -> tuple[str, bytes]:
    """("response" or "error", the body LocalStack should get) for the emulator's answer."""
    try:
        document = json.loads(answer)
    except ValueError:
        document = None
    if isinstance(document, dict) and document.keys() >= ERROR_DOCUMENT_KEYS:
        return "error", answer
    if answer.startswith(b"Task timed out after"):
        error = {"errorType": "Sandbox.Timedout", "errorMessage": answer.decode()}
        return "error", json.dumps(error).encode()
    return "response", answer


class Invoker:
    def __init__(self, endpoint: str, log: EmulatorLog, timeout: float) -> None:
        self.endpoint = endpoint
        self.log = log
        self.timeout = timeout

    def __call__(self, invocation: dict) -> None:
        mark = self.log.mark()
        payload = invocation["payload"].encode()
        request = urllib.request.Request(EMULATOR_INVOKE, data=payload, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout + 5) as answer:  # noqa: S310
                kind, body = outcome(answer.read())
        except OSError as error:
            document = {"errorType": "Runtime.Unknown", "errorMessage": f"emulator: {error}"}
            kind, body = "error", json.dumps(document).encode()
        url = f"{self.endpoint}/invocations/{invocation['invoke-id']}"
        post(f"{url}/logs", json.dumps({"logs": self.log.since(mark)}).encode())
        post(f"{url}/{kind}", body)


def handler_for(invoke: Invoker) -> type[BaseHTTPRequestHandler]:
    class InvokeHandler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # http.server's name
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if self.path != "/invoke":
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()
            threading.Thread(target=invoke, args=(json.loads(body),), daemon=True).start()

        def log_message(self, format: str, *args) -> None:  # http.server's name
            pass

    return InvokeHandler


def wait_for_port(port: int, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def main() -> None:
    endpoint = os.environ["LOCALSTACK_RUNTIME_ENDPOINT"]
    emulator = subprocess.Popen(  # noqa: S603 (a fixed command)
        [
            EMULATOR,
            "--runtime-interface-emulator-address",
            EMULATOR_ADDRESS,
            "/var/runtime/bootstrap",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    signal.signal(signal.SIGTERM, lambda *_: (emulator.terminate(), sys.exit(0)))
    log = EmulatorLog(emulator.stdout)
    invoke = Invoker(endpoint, log, float(os.environ.get("AWS_LAMBDA_FUNCTION_TIMEOUT", "3")))
    server = ThreadingHTTPServer(("0.0.0.0", INVOKE_PORT), handler_for(invoke))  # noqa: S104 (LocalStack calls from its network)
    wait_for_port(8080, seconds=15)
    post(f"{endpoint}/status/{os.environ['LOCALSTACK_RUNTIME_ID']}/ready", b"{}")
    server.serve_forever()


if __name__ == "__main__":
    main()
