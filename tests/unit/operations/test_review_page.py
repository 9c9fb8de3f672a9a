"""The review page without a browser: Flask's test client against the page, moto behind it.

What guards the page (its Host, its token, its headers), what it shows (escaped, an audit
blind, a message that is not ours as unreadable) and what it refuses; the browser tests
(tests/browser/) drive the same page with keys."""

import json
import re
import socket

import pytest

from local.emulation import workflow
from local.emulation.review import LocalReview
from operations import review
from operations.review_page import TOKEN_HEADER, create_app
from operations.review_sessions import Sessions, Settings
from tests.images import make_image
from tests.waiting import eventually

HOST = "127.0.0.1:5000"
TOKEN = "a-token-this-server-made"
QUICK = Settings(undo_seconds=0.05, tick_seconds=3600)  # the tests tend the sessions themselves


class Page:
    """The page as a browser reaches it: at its own Host, with its token."""

    def __init__(self, sessions: Sessions):
        self.client = create_app(sessions, HOST, TOKEN).test_client()
        self.sessions = sessions

    def post(self, path: str, headers=None, **body):
        headers = {TOKEN_HEADER: TOKEN} if headers is None else headers
        return self.client.post(path, base_url=f"http://{HOST}", headers=headers, json=body)

    def open(self) -> dict:
        answer = self.post("/sessions")
        assert answer.status_code == 201
        return answer.get_json()

    def act(self, state: dict, action: str, **body) -> tuple[int, dict]:
        body.setdefault("message_id", state["message_id"])
        answer = self.post(f"/sessions/{state['session']}/{action}", **body)
        return answer.status_code, answer.get_json()


@pytest.fixture
def local(aws) -> LocalReview:
    return LocalReview()


@pytest.fixture
def page(local):
    sessions = Sessions(local.reviewer(), QUICK)
    yield Page(sessions)
    sessions.close_all()


def written(local: LocalReview) -> list[str]:
    """What the ground-truth bucket holds beside the state machine's waiting markers."""
    return sorted(key for key in local.written() if not key.startswith("waiting/"))


def test_another_host_is_refused(page):
    for host in ("attacker.example:5000", "localhost:5000", "127.0.0.1:5001"):
        answer = page.client.get("/", base_url=f"http://{host}")
        assert answer.status_code == 403
        assert f"answers at {HOST} only" in answer.get_data(as_text=True)
        assert page.client.post("/sessions", base_url=f"http://{host}").status_code == 403
    assert page.client.get("/", base_url=f"http://{HOST}").status_code == 200


def test_no_change_without_the_servers_token(page, local):
    local.send("incoming/a.png", make_image())
    assert page.post("/sessions", headers={}).status_code == 403
    assert page.post("/sessions", headers={TOKEN_HEADER: "guessed"}).status_code == 403
    assert page.post("/sessions", headers={TOKEN_HEADER: "tökén"}).status_code == 403
    assert local.counts() == (1, 0)  # nothing was taken

    state = page.open()
    assert local.counts() == (0, 1)
    beacon = page.client.post(  # how the page says goodbye: the token in a form
        f"/sessions/{state['session']}/close", base_url=f"http://{HOST}", data={"token": TOKEN}
    )
    assert beacon.status_code == 204
    assert local.counts() == (1, 0)


def test_the_page_holds_its_token_and_runs_no_inline_script(page):
    answer = page.client.get("/", base_url=f"http://{HOST}")

    html = answer.get_data(as_text=True)
    assert f'<meta name="review-token" content="{TOKEN}">' in html
    assert re.findall(r"<script[^>]*>", html) == ['<script src="/static/review.js" defer>']
    assert answer.headers["Content-Security-Policy"].startswith("default-src 'none'; script-src")
    assert "'unsafe-inline'" not in answer.headers["Content-Security-Policy"]
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert answer.headers["Cache-Control"] == "no-store"


def test_a_key_is_shown_escaped_with_what_prints_nothing_written_out(page, local):
    key = "incoming/<script>alert(1)</script>\u202egnp.png"
    local.send(key, make_image())

    item = page.open()["item"]

    assert "&lt;script&gt;alert(1)&lt;/script&gt;\\u202egnp.png" in item
    assert "<script" not in item and "\u202e" not in item


def test_an_audit_is_shown_blind(page, local):
    local.send("incoming/audit.png", make_image(), reason="audit", inferences=(0.97, 0.03))

    item = page.open()["item"]

    shown = re.sub(r"<[^>]*>", " ", item)  # the text, without the random ids in attributes
    assert "incoming/audit.png" in shown
    for hidden in ("guess", "97", "sure", "why it is here", "threshold", "audit"):
        assert hidden not in shown.replace("incoming/audit.png", "")


def test_an_unsure_item_shows_the_guess_and_why(page, local):
    local.send("incoming/unsure.png", make_image(), inferences=(0.3, 0.7))

    item = page.open()["item"]

    assert "motorcycle, 70.0 % sure" in item
    assert "below its confidence threshold" in item


def test_a_message_not_ours_is_unreadable_cannot_be_labelled_and_is_discarded(page, local):
    body = {
        "s3_bucket": "<img src=x onerror=alert(1)>",
        "inference_id": "",
        "review_id": "",
        "reason": "",
    }
    local.send_body(json.dumps(body), group="not-ours")
    state = page.open()
    assert "Unreadable message" in state["item"]
    assert "another bucket, &#39;&lt;img src=x onerror=alert(1)&gt;&#39;" in state["item"]
    assert state["next_image"] is None

    status, refused = page.act(state, "answer", label="bicycle")
    assert status == 409 and "discard or skip it" in refused["status"]

    message_id = state["message_id"]
    status, state = page.act(state, "discard")
    assert status == 200 and "Nothing to review" in state["item"]
    eventually(lambda: local.counts() == (0, 0), "the message deleted")
    assert written(local) == [f"unreadable/{message_id}.json"]  # kept first, never a label


def test_a_review_item_cannot_be_discarded(page, local):
    local.send("incoming/a.png", make_image())
    state = page.open()

    status, refused = page.act(state, "discard")

    assert status == 409 and "label or skip it" in refused["status"]


def test_an_item_whose_image_is_gone_offers_only_to_close_it(page, local):
    body = local.send("incoming/a.png", make_image())
    local.s3.delete_object(Bucket=workflow.IMAGE_BUCKET, Key="incoming/a.png")
    state = page.open()
    assert "close: image unavailable" not in state["item"]  # not known before the image is read
    url = re.search(r'data-src="([^"]+)"', state["item"]).group(1)
    assert page.client.get(url, base_url=f"http://{HOST}").status_code == 502

    state = page.act(state, "poll")[1]
    assert "close: image unavailable" in state["item"] and "data-src" not in state["item"]
    assert "incoming/a.png&#39; is gone" in state["item"]  # the server's words, escaped
    status, refused = page.act(state, "answer", label="bicycle")
    assert status == 409 and "close it (d) or skip it" in refused["status"]

    status, state = page.act(state, "discard")
    assert status == 200
    record = f"reviews/{body['inference_id']}.json"
    eventually(lambda: local.counts() == (0, 0), "the message deleted")
    eventually(lambda: written(local) == [record], "the record written, the marker deleted")
    assert json.loads(local.written()[record])["outcome"] == "image_unavailable"
    eventually(
        lambda: "closed, its image unavailable" in page.act(state, "poll")[1]["status"],
        "the page says it was closed",
    )


def test_an_answer_waits_out_its_window_and_undo_brings_the_item_back(local):
    local.send("incoming/a.png", make_image((1, 2, 3)))
    local.send("incoming/b.png", make_image((4, 5, 6)))
    sessions = Sessions(local.reviewer(), Settings(undo_seconds=3600, tick_seconds=3600))
    page = Page(sessions)
    first = page.open()
    first_key = re.search(r"incoming/[ab]\.png", first["item"]).group()

    _, second = page.act(first, "answer", label="bicycle")
    assert first_key not in second["item"] and "saved in" in second["status"]
    _, again = page.act(second, "undo")

    assert again["message_id"] == first["message_id"] and first_key in again["item"]
    sessions.close_all()  # the page closes: no answer is pending, both go back
    assert written(local) == []
    assert local.counts() == (2, 0)


def test_an_answer_pending_when_the_page_closes_is_carried_out(local):
    local.send("incoming/a.png", make_image())
    sessions = Sessions(local.reviewer(), Settings(undo_seconds=3600, tick_seconds=3600))
    page = Page(sessions)
    state = page.open()
    page.act(state, "answer", label="motorcycle")

    sessions.close(state["session"])

    [record] = [key for key in written(local) if key.startswith("reviews/")]
    assert b'"label": "motorcycle"' in local.written(record)[record]


def test_an_action_on_an_item_no_longer_shown_is_refused(page, local):
    local.send("incoming/a.png", make_image())
    state = page.open()

    status, refused = page.act(state, "answer", message_id="another-message", label="bicycle")

    assert status == 409 and "is not the item shown" in refused["status"]
    assert refused["message_id"] == state["message_id"]


def test_an_unknown_session_or_action_is_404(page, local):
    state = page.open()
    assert page.post("/sessions/no-such-session/poll").status_code == 404
    assert page.post(f"/sessions/{state['session']}/relabel").status_code == 404


def test_the_image_is_served_with_the_type_its_bytes_say(page, local):
    jpeg = make_image(image_format="JPEG")
    local.send("incoming/photo.png", jpeg)  # a name that says PNG: the bytes decide
    state = page.open()
    url = re.search(r'data-src="([^"]+)"', state["item"]).group(1)

    answer = page.client.get(url, base_url=f"http://{HOST}")

    assert answer.status_code == 200 and answer.data == jpeg
    assert answer.mimetype == "image/jpeg"
    assert answer.headers["Cache-Control"] == "no-store"
    other = url.replace(state["message_id"], "not-held-here")
    assert page.client.get(other, base_url=f"http://{HOST}").status_code == 404


def test_an_image_that_cannot_be_read_is_a_502_naming_why(page, local):
    local.send("incoming/a.png", make_image())
    local.s3.put_object(Bucket=workflow.IMAGE_BUCKET, Key="incoming/a.png", Body=b"replaced")
    state = page.open()
    url = re.search(r'data-src="([^"]+)"', state["item"]).group(1)

    answer = page.client.get(url, base_url=f"http://{HOST}")

    assert answer.status_code == 502
    assert "ImageNotFound" in answer.get_data(as_text=True)


def test_no_queue_is_said_on_the_page_not_raised(aws):
    local = LocalReview()
    reviewer = local.reviewer()
    reviewer.queue_url = local.queue_url.replace("ReviewQueue", "Gone")
    page = Page(Sessions(reviewer, QUICK))

    state = page.open()

    assert "Nothing to review" in state["item"]
    assert "could not fetch an item: QueueNotFound" in state["status"]


def test_a_silent_page_is_closed_and_its_items_given_back(local):
    for n in range(3):
        local.send(f"incoming/{n}.png", make_image((n, n, n)))
    now = [0.0]
    sessions = Sessions(local.reviewer(), QUICK, clock=lambda: now[0])
    state = Page(sessions).open()
    eventually(lambda: local.counts() == (1, 2), "the next item fetched ahead")

    now[0] += QUICK.idle_seconds + 1
    sessions.tend()

    assert local.counts() == (3, 0)
    with pytest.raises(KeyError):
        sessions.get(state["session"])


def test_an_item_arriving_while_nothing_is_shown_is_shown_at_the_next_poll(page, local):
    state = page.open()
    assert "Nothing to review" in state["item"]

    local.send("incoming/late.png", make_image())

    def shown() -> bool:
        return "incoming/late.png" in page.act(state, "poll")[1]["item"]

    eventually(shown, "the late item shown")


def test_a_port_already_taken_is_said_and_exits_1(local, capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(SystemExit) as exit_status:
            review.main(
                [
                    *("--queue-url", local.queue_url, "--image-bucket", workflow.IMAGE_BUCKET),
                    *("--ground-truth-bucket", workflow.GROUND_TRUTH_BUCKET, "serve"),
                    *("--port", str(port)),
                ]
            )

    assert exit_status.value.code == 1
    assert f"Port {port} is in use by another program" in capsys.readouterr().err
