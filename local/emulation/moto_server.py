"""moto's server on a free port, sharing this process's moto state: for what reaches moto over
HTTP as it would reach AWS (SAM CLI's containers, the review page, the benches)."""

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from moto.server import ThreadedMotoServer


@contextmanager
def moto_server(host: str = "127.0.0.1") -> Iterator[str]:
    """moto's server on a free port of `host` until the block ends; its URL."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line for every request
    server = ThreadedMotoServer(ip_address=host, port=0, verbose=False)
    server.start()
    try:
        yield "http://{}:{}".format(*server.get_host_and_port())
    finally:
        server.stop()
