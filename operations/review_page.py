"""The review page: one image at a time, large, with a key for each answer.

    python -m operations.review serve               # prints the address to open

Flask, served by Werkzeug's threaded server on 127.0.0.1 only; the templates are in
`templates/`, the script and the style in `static/`. The page acts with the reviewer's AWS
credentials, so it answers no request whose Host is not its own address (a site that makes its
own name resolve to 127.0.0.1 gets nothing back), and changes nothing without the token written
into its own page (which no other site can read): no cross-site request can label or discard.
Everything shown goes through Jinja's escaping, with characters that print nothing written out
(`\\x1b`, `\\u202e`); no script runs but the page's own file.
"""

import contextlib
import hmac
import logging
import secrets
import threading
import time
from datetime import UTC, datetime
from typing import Any

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    jsonify,
    render_template,
    request,
    url_for,
)
from werkzeug.exceptions import HTTPException
from werkzeug.serving import make_server

from operations.cli import printable
from operations.review_sessions import (
    AWS_ERRORS,
    DISCARD,
    NotAllowed,
    Session,
    Sessions,
    Settings,
    Slot,
    StaleAction,
    name_of,
)
from operations.reviewing import Reviewer, ReviewItem, image_type

ADDRESS = "127.0.0.1"
PORT = 8000  # the page's default
TOKEN_HEADER = "X-Review-Token"  # noqa: S105 (a header's name; the token is made at start)
READ_ONLY_METHODS = {"GET", "HEAD"}
SHUTDOWN_POLL_SECONDS = 0.05  # how soon leaving the `with` block stops the server
REASONS = {"below_threshold": "the model was unsure: below its confidence threshold"}
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; "
    "img-src 'self' blob: data:; connect-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}

page = Blueprint("review", __name__)


def create_app(sessions: Sessions, host: str, token: str) -> Flask:
    """The page for `sessions`, answering only at `host` ("127.0.0.1:port")."""
    app = Flask(__name__)  # templates/ and static/ beside this module
    app.config.update(REVIEW_HOST=host, REVIEW_TOKEN=token, MAX_CONTENT_LENGTH=4096)
    app.extensions["review_sessions"] = sessions
    app.jinja_env.filters["visible"] = printable  # a key shown as it is, not as it renders
    app.before_request(guard)
    app.after_request(protect)
    app.register_error_handler(HTTPException, plain_error)
    app.register_blueprint(page)
    return app


def guard() -> None:
    """Refuse another Host (DNS rebinding), and any change without this server's token."""
    if request.host != current_app.config["REVIEW_HOST"]:
        abort(403, description=f"this page answers at {current_app.config['REVIEW_HOST']} only")
    if request.method not in READ_ONLY_METHODS:
        given = request.headers.get(TOKEN_HEADER) or request.form.get("token", "")
        expected = current_app.config["REVIEW_TOKEN"]
        if not hmac.compare_digest(given.encode(), expected.encode()):
            abort(403, description="missing or wrong token: reload the page")


def protect(response: Response) -> Response:
    response.headers.update(HEADERS)
    return response


def plain_error(error: HTTPException) -> Response:
    """An error as one line of plain text, which the page's script shows as it is."""
    text = f"{error.code} {error.name}: {error.description}"
    return Response(text, status=error.code, mimetype="text/plain")


def sessions() -> Sessions:
    return current_app.extensions["review_sessions"]


def session_of(session_id: str) -> Session:
    try:
        session = sessions().get(session_id)
    except KeyError:
        abort(404, description="this page's session has ended: reload the page")
    session.touch()
    return session


@page.get("/")
def index() -> str:
    settings = sessions().settings
    return render_template(
        "review.html",
        token=current_app.config["REVIEW_TOKEN"],
        poll_ms=int(settings.poll_seconds * 1000),
        undo_seconds=settings.undo_seconds,
    )


@page.post("/sessions")
def open_session() -> tuple[Response, int]:
    return state(sessions().open()), 201


@page.post("/sessions/<session_id>/close")
def close_session(session_id: str) -> tuple[str, int]:
    """The tab is closing (a beacon: nobody reads the answer)."""
    sessions().close(session_id)
    return "", 204


@page.post("/sessions/<session_id>/<action>")
def act(session_id: str, action: str) -> Response | tuple[Response, int]:
    session = session_of(session_id)
    body = request.get_json(silent=True) or {}
    message_id = str(body.get("message_id"))
    steps = {
        "answer": lambda: session.answer(message_id, str(body.get("label"))),
        "discard": lambda: session.answer(message_id, DISCARD),
        "skip": lambda: session.skip(message_id),
        "undo": session.undo,
        "next": session.next,
        "poll": session.poll,
    }
    if action not in steps:
        abort(404)
    try:
        steps[action]()
    except (StaleAction, NotAllowed) as refused:
        return state(session, refused=str(refused)), 409
    return state(session)


@page.get("/sessions/<session_id>/images/<message_id>")
def image(session_id: str, message_id: str) -> Response:
    """The image of an item the session holds, read with the reviewer's credentials."""
    try:
        data = session_of(session_id).image(message_id)
    except KeyError:
        abort(404, description="no such item in this session")
    except AWS_ERRORS as error:
        abort(502, description=f"the image could not be read: {type(error).__name__}: {error}")
    kind = image_type(data)
    if kind is None:
        abort(502, description="the object is neither a PNG nor a JPEG")
    return Response(data, mimetype=kind)


def state(session: Session, refused: str | None = None) -> Response:
    """What the page shows now: the item and the status line as HTML (escaped by the
    templates), and what the script needs beside them."""
    view = session.view()
    current = view.current
    return jsonify(
        session=session.id,
        message_id=current.message_id if current else None,
        item=render_template("_item.html", item=item_view(session, current)),
        status=render_template("_status.html", view=view, left=sessions().left, refused=refused),
        next_image=image_url(session, view.upcoming),
        pending=bool(view.pending),
    )


def item_view(session: Session, slot: Slot | None) -> dict[str, Any]:
    """What the item template shows. An audit shows no guess, confidence or reason: the person
    answers blind, so that the answer measures the model rather than agrees with it."""
    if slot is None:
        return {"kind": "empty"}
    shared = {"message_id": slot.message_id, "received": when(slot.held.received_at)}
    if slot.lost:
        return shared | {"kind": "lost", "name": name_of(slot)}
    content = slot.content
    if not isinstance(content, ReviewItem):
        return shared | {"kind": "unreadable", "problem": content.problem}
    shown = shared | {
        "kind": "review",
        "key": content.s3_key,
        "bucket": content.s3_bucket,
        "arrived": when(content.sent_at),
        "waiting": minutes_since(content.sent_at),
        "image_url": image_url(session, slot),
        "unavailable": slot.unavailable,
    }
    if content.reason == "audit":
        return shown
    return shown | {
        "guess": content.label,
        "confidence": content.confidence,
        "reason": REASONS.get(content.reason, content.reason),
    }


def image_url(session: Session, slot: Slot | None) -> str | None:
    if slot is None or not isinstance(slot.content, ReviewItem):
        return None
    return url_for("review.image", session_id=session.id, message_id=slot.message_id)


def minutes_since(epoch_seconds: float) -> int:
    return max(0, int(time.time() - epoch_seconds) // 60)


def when(epoch_seconds: float) -> str:
    moment = datetime.fromtimestamp(epoch_seconds, UTC)
    return moment.isoformat(sep=" ", timespec="seconds").replace("+00:00", " UTC")


class ReviewPage:
    """The page on 127.0.0.1:`port` (0: any free port), served from a thread for the duration of
    a `with` block; leaving it gives back every item the page still holds."""

    def __init__(self, reviewer: Reviewer, port: int = 0, settings: Settings | None = None):
        self.sessions = Sessions(reviewer, settings or Settings())
        self.app = create_app(self.sessions, host="", token=secrets.token_urlsafe(32))
        # A port already taken: Werkzeug says so in two lines and exits with status 1.
        self._server = make_server(ADDRESS, port, self.app, threaded=True)
        self.host = f"{ADDRESS}:{self._server.server_port}"
        self.app.config["REVIEW_HOST"] = self.host
        self.url = f"http://{self.host}/"
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(SHUTDOWN_POLL_SECONDS,), daemon=True
        )

    def __enter__(self) -> "ReviewPage":
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line for every request
        self.sessions.__enter__()
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._thread.join()
        self._server.server_close()
        self.sessions.__exit__(*exc_info)


def serve(reviewer: Reviewer, port: int = PORT, settings: Settings | None = None) -> str:
    """Serve the page until Ctrl-C, its address printed first; what became of its items."""
    with (
        ReviewPage(reviewer, port, settings) as review_page,
        contextlib.suppress(KeyboardInterrupt),
    ):
        print(f"the review page: {review_page.url}   (Ctrl-C stops it)", flush=True)
        threading.Event().wait()
    return "stopped: every item the page still held is back in the queue"
