"""A person's review, two reviewers at once, a message that is not ours, a hold that runs out and
a page that closes, in headless Chromium; keys are pressed as a person presses them."""

import json

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from local.browser import WAIT_SECONDS, press
from local.emulation import workflow
from operations.review_sessions import Settings
from tests.images import make_image
from tests.waiting import eventually


def text(driver, selector: str) -> str:
    """The text shown by the first element `selector` finds (empty when there is none), read
    in one step: the page replaces its elements as the server answers."""
    script = "const e = document.querySelector(arguments[0]); return e ? e.innerText : '';"
    return driver.execute_script(script, selector)


def until(driver, condition, what: str):
    return WebDriverWait(driver, WAIT_SECONDS, poll_frequency=0.02).until(condition, what)


def shown_key(driver) -> str:
    """The key of the review item shown, once its image is on the page."""

    def image_shown(d) -> str:
        loaded = d.execute_script(
            "const img = document.querySelector('#item img.photo');"
            "return img !== null && img.complete && img.naturalWidth > 0;"
        )
        return loaded and text(d, "#item .key")

    return until(driver, image_shown, "an item with its image")


def press_and_wait(driver, key: str, before: str) -> str:
    """Press `key` on the item keyed `before`; the key of the item shown next."""
    press(driver, key)
    return until(driver, lambda d: (k := shown_key(d)) != before and k, f"{key}: the next item")


def records(local) -> dict[str, dict]:
    """The review records written, by image key."""
    found = [json.loads(body) for body in local.written("reviews/").values()]
    return {record["s3_key"]: record for record in found}


def test_a_session_by_keyboard_alone(browser, local, serve):
    """1 answers, u takes it back within the window (shown again, never sent), 2 answers, s gives
    one back for later, 3 is neither; an audit is shown blind; the image is large and sharp."""
    audit = "incoming/audit.png"
    local.send("incoming/unsure-1.png", make_image((200, 30, 30)), inferences=(0.3, 0.7))
    local.send(audit, make_image((30, 200, 30)), reason="audit", inferences=(0.98, 0.02))
    local.send("incoming/unsure-2.png", make_image((30, 30, 200)))
    local.send("incoming/unsure-3.png", make_image((90, 90, 90)))
    browser.get(serve().url)

    first = shown_key(browser)
    assert browser.find_elements(By.CSS_SELECTOR, '#item [data-key="d"]') == []  # it has its image
    second = press_and_wait(browser, "1", first)
    assert until(browser, lambda d: "bicycle for " + first in text(d, ".pending"), "pending")
    assert press_and_wait(browser, "u", second) == first
    assert text(browser, ".pending") == ""
    shown = [first, press_and_wait(browser, "2", first)]
    shown.append(press_and_wait(browser, "s", shown[-1]))
    shown.append(press_and_wait(browser, "3", shown[-1]))
    press(browser, "1")
    until(browser, lambda d: "Nothing to review" in text(d, "#item"), "the queue emptied")

    assert sorted(shown) == sorted(["incoming/unsure-1.png", audit, *local_keys(2, 3)])
    answers = {first: "motorcycle", shown[2]: "neither", shown[3]: "bicycle"}
    until(browser, lambda d: "3 done" in text(d, "#status"), "three answers carried out")
    assert {key: record["label"] for key, record in records(local).items()} == answers
    assert len(local.written("ground-truth/")) == 2 and len(local.written("neither/")) == 1
    assert local.counts() == (0, 1)  # the skipped item waits, hidden for a while


def local_keys(*numbers: int) -> list[str]:
    return [f"incoming/unsure-{n}.png" for n in numbers]


def test_an_audit_is_blind_and_the_image_large_and_sharp(browser, local, serve):
    local.send("incoming/audit.png", make_image(), reason="audit", inferences=(0.98, 0.02))
    browser.get(serve().url)

    assert shown_key(browser) == "incoming/audit.png"

    about = text(browser, "#item .about")
    for hidden in ("guess", "sure", "why", "threshold", "audit"):
        assert hidden not in about.replace("incoming/audit.png", "")
    image = browser.execute_script(
        "const img = document.querySelector('#item img.photo');"
        "return [img.naturalWidth, img.getBoundingClientRect().width,"
        " getComputedStyle(img).imageRendering];"
    )
    assert image == [32, 384, "pixelated"]


def test_two_reviewers_at_once_never_see_the_same_item(browser, local, serve):
    keys = [f"incoming/photo-{n}.png" for n in range(6)]
    for n, key in enumerate(keys):
        local.send(key, make_image((40 * n, 0, 0)))
    pages = [serve(reviewer=local.reviewer()), serve(reviewer=local.reviewer())]
    windows = []
    for page in pages:
        browser.switch_to.new_window("window")
        browser.get(page.url)
        windows.append(browser.current_window_handle)

    seen: list[list[str]] = [[], []]
    while any(windows):
        for n, window in enumerate(windows):
            if window is None:
                continue
            browser.switch_to.window(window)
            if "Nothing to review" in text(browser, "#item"):
                windows[n] = None
                continue
            seen[n].append(shown_key(browser))
            press(browser, "1")
            until(browser, lambda d, n=n: shown_elsewhere(d, seen[n][-1]), "the next item")

    assert set(seen[0]).isdisjoint(seen[1]), seen
    assert sorted(seen[0] + seen[1]) == keys
    eventually(lambda: len(records(local)) == 6, "six answers, each carried out once")
    assert len(local.written("ground-truth/")) == 6


def shown_elsewhere(driver, key: str) -> bool:
    """Another item, or none, is shown instead of `key`."""
    return "Nothing to review" in text(driver, "#item") or text(driver, "#item .key") not in (
        "",
        key,
    )


def test_messages_not_ours_are_unreadable_and_discarded_kept_and_never_labelled(
    browser, local, serve
):
    poisons = [
        "not JSON <img src=x onerror=alert(1)>",
        json.dumps({"s3_key": "incoming/missing-fields.png"}),
        json.dumps(item_fields(s3_bucket="someone-elses-bucket")),
        json.dumps(item_fields(s3_key="incoming/\x1b[31mred\x1b[0m.png")),
    ]
    for n, body in enumerate(poisons):
        local.send_body(body, group=f"poison-{n}")
    local.send("incoming/after.png", make_image())
    browser.get(serve().url)

    problems = []
    for _ in poisons:
        until(browser, lambda d: "Unreadable message" in text(d, "#item"), "an unreadable one")
        problems.append(text(browser, "#item .problem"))
        press(browser, "1")  # no label for what is not ours: nothing happens
        assert "Unreadable message" in text(browser, "#item")
        press(browser, "d")
        until(browser, lambda d, p=problems[-1]: text(d, "#item .problem") != p, "the next")
    assert shown_key(browser) == "incoming/after.png"
    press(browser, "2")

    assert any(p.startswith("not JSON") for p in problems)
    assert any("no 'inference_id'" in p for p in problems)
    assert any("another bucket, 'someone-elses-bucket'" in p for p in problems)
    assert any("control characters" in p and "\\x1b[31mred" in p for p in problems)
    assert browser.find_elements(By.CSS_SELECTOR, "#item img:not(.photo)") == []
    eventually(lambda: local.counts() == (0, 0), "every message gone")
    assert list(records(local)) == ["incoming/after.png"]
    kept = [json.loads(copy)["body"] for copy in local.written("unreadable/").values()]
    assert sorted(kept) == sorted(poisons)  # each discarded message, as it was sent


def item_fields(**changes) -> dict:
    """A message body with every field of the contract, for one field to be made wrong."""
    return {
        "s3_bucket": "scones-unlimited-images",
        "s3_key": "incoming/poisoned.png",
        "etag": "0123",
        "inferences": [0.5, 0.5],
        "threshold": 0.9,
        "execution_id": "arn:aws:states:us-east-1:123456789012:execution:ImageClassification:x",
        "inference_id": "8f14e45f-ceea-467f-a0e6-7c4a1e3c9b3d",
        "review_id": "ab" * 32,
        "reason": "below_threshold",
    } | changes


def test_a_hold_that_runs_out_is_shown_lost_and_nothing_is_written(browser, local, serve):
    """The page's holds end (as when a laptop sleeps: nothing renews them) and another reviewer
    answers both items; this page then writes nothing for either."""
    for key in ("incoming/first.png", "incoming/second.png"):
        local.send(key, make_image())
    page = serve(Settings(hold_seconds=1, undo_seconds=0.3, tick_seconds=3600, poll_seconds=0.3))
    browser.get(page.url)
    first = shown_key(browser)
    eventually(lambda: local.counts() == (0, 2), "the next item fetched ahead")

    other = local.reviewer()
    taken = [eventually(lambda: other.take(60), f"item {n}, once its hold ran out") for n in (1, 2)]
    for held in taken:
        other.answer(held, "motorcycle", 1.0)
    press_and_wait(browser, "1", first)  # answered after the hold ran out
    page.sessions.tend()  # the renewal finds the second item's hold gone

    until(browser, lambda d: "Lost to another reviewer" in text(d, "#item"), "shown as lost")
    until(browser, lambda d: "ran out" in text(d, ".notices .lost"), "the answer not carried out")
    assert "answered motorcycle" in text(browser, ".notices .lost")
    assert {record["label"] for record in records(local).values()} == {"motorcycle"}
    assert len(local.written("ground-truth/")) == 2
    press(browser, "n")
    until(browser, lambda d: "Nothing to review" in text(d, "#item"), "nothing left")


def test_closing_the_page_gives_back_every_item_it_holds(browser, local, serve):
    for n in range(3):
        local.send(f"incoming/photo-{n}.png", make_image((n, 0, 0)))
    page = serve()
    browser.get(page.url)
    shown_key(browser)
    eventually(lambda: local.counts() == (1, 2), "the next item fetched ahead")

    browser.get("about:blank")

    eventually(lambda: local.counts() == (3, 0), "both items given back")
    assert records(local) == {}


def test_an_image_that_cannot_be_read_says_why_and_d_closes_the_item(browser, local, serve):
    """Only then is there a d (labels go): the item is closed with its review record saying the
    image was unavailable, and no ground-truth line."""
    body = local.send("incoming/replaced.png", make_image())
    local.s3.put_object(Bucket=workflow.IMAGE_BUCKET, Key="incoming/replaced.png", Body=b"new")
    browser.get(serve().url)

    said = until(browser, lambda d: text(d, "#item .image-problem"), "why there is no image")

    assert "ImageNotFound" in said and "replaced since it was classified" in said
    assert text(browser, "#item .key") == "incoming/replaced.png"
    until(browser, lambda d: "close: image unavailable" in text(d, "#item"), "the d button")
    assert "bicycle" not in text(browser, "#item .actions")
    press(browser, "1")  # no label for an image nobody can see: nothing happens
    press(browser, "d")
    until(browser, lambda d: "Nothing to review" in text(d, "#item"), "the item closed")
    eventually(lambda: local.counts() == (0, 0), "the message deleted")
    record = records(local)["incoming/replaced.png"]
    assert (record["outcome"], record["label"]) == ("image_unavailable", None)
    assert local.written("ground-truth/") == local.written("neither/") == {}
    eventually(lambda: local.written("waiting/") == {}, "the marker deleted after the message")
    assert record["inference_id"] == body["inference_id"]
