"""`make review`'s runner: its options beside `make demo`'s, and the command line it prints for
another terminal, run as printed against moto's server. (The run itself is `make demo`'s, tested
in test_demo.py; the page is tested in tests/unit/operations/ and tests/browser/.)"""

import os
import shlex
import subprocess
import sys

import pytest

from local import review
from local.emulation.moto_server import moto_server
from local.emulation.review import LocalReview, reset
from local.emulation.workflow import ROOT
from tests.images import make_image


def test_the_page_options_beside_the_demos():
    ours, args = review.parse_args(["--synthetic", "--port", "8123", "--seed", "7"])

    assert ours.port == 8123
    assert (args.synthetic, args.seed, args.images) == (True, 7, review.REVIEW_IMAGES)
    assert review.parse_args(["--images", "5"])[1].images == 5


def test_a_backfill_is_refused(capsys):
    with pytest.raises(SystemExit):
        review.parse_args(["--backfill"])

    assert "--backfill is make demo's" in capsys.readouterr().err


def test_the_printed_command_line_reaches_the_same_queue(capsys):
    with moto_server() as moto_url:
        reset(moto_url)
        local = LocalReview(moto_url)
        local.send("incoming/waiting.png", make_image())
        review.print_command_line(moto_url, local)
        words = shlex.split(capsys.readouterr().out.splitlines()[-1])
        variables = dict(word.split("=", 1) for word in words[:7])
        command = [sys.executable, *words[8:]]
        assert words[7] == ".venv/bin/python"

        listed = subprocess.run(
            command, cwd=ROOT, env=os.environ | variables, capture_output=True, text=True
        )

    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.startswith(
        "1 waiting for review; the queue counts about 1 that nobody holds\nincoming/waiting.png\n"
    )
