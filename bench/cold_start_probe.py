"""One cold start in the fresh process this module runs in: import a handler, serve one event.

    python -m bench.cold_start_probe LAYER_DIR MODULE EVENT_JSON

The clock starts just before the import and stops just after the handler returns, so it
covers what Lambda's cold start covers for the handler: importing the module and what it
imports (boto3 included), module-level clients, and the first event. The last line on stdout
is `{"seconds": ...}` (the handler's own logs come before it).

Nothing else is imported before the clock starts but `json` (Lambda's runtime has it loaded
to decode the event): importing the project's Lambda server for its context class would
load http.client, ssl and inspect, whose cost belongs to the handlers that need them.
"""

import importlib
import json
import sys
import time
from types import SimpleNamespace


def lambda_context() -> SimpleNamespace:
    """The attributes of Lambda's context object that handlers and Powertools read."""
    return SimpleNamespace(
        function_name="bench-cold-start",
        invoked_function_arn="bench-cold-start",
        aws_request_id="00000000-0000-4000-8000-000000000000",
        memory_limit_in_mb=256,
        function_version="$LATEST",
        get_remaining_time_in_millis=lambda: 30_000,
    )


def cold_start_seconds(layer_dir: str, module: str, event: dict) -> float:
    """Seconds to import `module` (with the layer on the path, as on Lambda) and serve `event`."""
    sys.path.append(layer_dir)
    context = lambda_context()
    started = time.perf_counter()
    handler = importlib.import_module(module).lambda_handler
    handler(event, context)
    return time.perf_counter() - started


def main(argv: list[str]) -> None:
    layer_dir, module, event = argv
    seconds = cold_start_seconds(layer_dir, module, json.loads(event))
    print(json.dumps({"seconds": seconds}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
