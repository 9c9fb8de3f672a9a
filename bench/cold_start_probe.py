"""One cold start in the fresh process this module runs in: import a handler, serve one event.

    python -m bench.cold_start_probe MODULE EVENT_JSON

The clock starts just before the import and stops just after the handler returns, so it
covers what Lambda's cold start covers for the handler: importing the module and what it
imports (boto3 included), module-level clients, and the first event. The last line on stdout
is `{"seconds": ...}` (the handler's own logs come before it).
"""

import importlib
import json
import sys
import time

from local.lambda_server import InvocationContext
from local.workflow import LAYER


def cold_start_seconds(module: str, event: dict) -> float:
    """Seconds to import `module` (with the layer on the path, as on Lambda) and serve `event`."""
    sys.path.append(str(LAYER))
    context = InvocationContext("bench-cold-start", "bench-cold-start")
    started = time.perf_counter()
    handler = importlib.import_module(module).lambda_handler
    handler(event, context)
    return time.perf_counter() - started


def main(argv: list[str]) -> None:
    module, event = argv
    seconds = cold_start_seconds(module, json.loads(event))
    print(json.dumps({"seconds": seconds}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
