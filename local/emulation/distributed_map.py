"""The backfill's Distributed Map on one machine: three gaps of moto 5.2.5 (pinned), bridged.

moto runs a DISTRIBUTED Map with the `listObjectsV2` reader, `ItemSelector` and
`MaxConcurrency`, but:

1. its `states:startExecution.sync:2` integration hands botocore `StateMachineArn` (botocore
   wants `stateMachineArn`: a KeyError, so `States.Runtime`), reads `ExecutionArn` from a
   response keyed `executionArn`, names every child `None`, and answers in botocore's casing.
   `bridge_start_execution` starts the child as AWS does (a unique name unless one is given)
   and answers in the integration's casing (`ExecutionArn`, `Output`, `Status`...); moto's
   own resolver still waits for the child and, when it did not succeed, raises
   `States.TaskFailed` whose cause is the child's describe_execution output, as AWS does.
2. its `ResultWriter` writes only an empty `manifest.json`. `bridge_result_writer` keeps each
   item's end as moto's worker finishes it, and writes AWS's layout from them:
   `<Prefix>/<map run id>/manifest.json`, `SUCCEEDED_0.json`, `FAILED_0.json`.
3. its `describe_map_run` reads every execution's worker, and fails (AttributeError) while
   any execution has none set up yet, as a child just started has. `bridge_describe_map_run`
   skips those, so the operator command's progress bar reads the map run's `itemCounts`.

Not bridged, because the tests and the demo do not depend on them (the README says what only
a deployed stack shows): tolerance (`ToleratedFailurePercentage` is never evaluated: a failed
item leaves the map run SUCCEEDED), listings past 1,000 keys, an empty listing (moto fails on
it with `States.Runtime`).
"""

import json
import threading
import uuid
from datetime import UTC, datetime
from typing import Any

from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.itemprocessor import (
    distributed_item_processor_worker as item_worker,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_map.result_writer.resource_eval import (  # noqa: E501
    resource_eval_s3 as result_writer,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
    state_task_service_sfn as sfn_task,
)
from moto.stepfunctions.parser.asl.eval.program_state import ProgramError
from moto.stepfunctions.parser.models import ResourceNotFound, StepFunctionsParserBackend

RESULT_FILE_KEYS = ("SUCCEEDED", "FAILED")
_ended_items: dict[str, list[dict[str, Any]]] = {}  # map run ARN -> items, as they end
_lock = threading.Lock()
_selected = threading.local()  # each worker thread runs one item at a time


def bridge() -> None:
    """Install the three bridges into moto. Idempotent."""
    bridge_start_execution()
    bridge_result_writer()
    bridge_describe_map_run()


# 1. startExecution(.sync:2) ---------------------------------------------------------------


def _start_child(self, env, resource_runtime_part, normalised_parameters, state_credentials):
    """Replaces StateTaskServiceSfn._eval_service_task (moto internal) for startExecution; the
    other actions keep moto's own path. `sfn_task.boto_client_for` is the module's client
    factory, shared by the workflow's speed-ups."""
    if self._get_boto_service_action() != "start_execution":
        return _moto_eval_service_task(
            self, env, resource_runtime_part, normalised_parameters, state_credentials
        )
    client = sfn_task.boto_client_for(
        region=resource_runtime_part.region,
        service="stepfunctions",
        state_credentials=state_credentials,
    )
    started = client.start_execution(
        stateMachineArn=normalised_parameters["StateMachineArn"],
        name=normalised_parameters.get("Name") or str(uuid.uuid4()),
        input=normalised_parameters["Input"],  # moto's _normalise_parameters made it JSON text
    )
    env.stack.append(
        {"ExecutionArn": started["executionArn"], "StartDate": started["startDate"].isoformat()}
    )


def _aws_cased_response(self, response, boto_service_name=None, service_action_name=None):
    """Replaces StateTaskServiceSfn._normalise_response (moto internal; a no-op there): AWS's
    integration answers `ExecutionArn`, `Output`, `Status`... where botocore says
    `executionArn`, `output`, `status`."""
    if isinstance(response, dict):
        for key in list(response):
            response[self._to_sfn_cased(key)] = response.pop(key)


_moto_eval_service_task = sfn_task.StateTaskServiceSfn._eval_service_task


def bridge_start_execution() -> None:
    sfn_task.StateTaskServiceSfn._eval_service_task = _start_child
    sfn_task.StateTaskServiceSfn._normalise_response = _aws_cased_response


# 2. ResultWriter ------------------------------------------------------------------------


def _select_item(self, env_frame) -> None:
    """Wraps the worker's _eval_input (moto internal): the item's input after ItemSelector is
    what AWS records as the child execution's input."""
    _moto_eval_input(self, env_frame=env_frame)
    _selected.value = env_frame.states.get_input()


def _record_item(self, env, job) -> None:
    """Wraps DistributedItemProcessorWorker._eval_job (moto internal): after moto has run the
    item, keep how it ended (`env.program_state()`, `job.job_output`)."""
    _selected.value = job.job_input
    started = _timestamp()
    _moto_eval_job(self, env=env, job=job)
    end = env.program_state()
    item = {
        "Index": job.job_index,
        "Name": str(uuid.uuid4()),
        "Input": json.dumps(_selected.value),
        "StartDate": started,
        "StopDate": _timestamp(),
    }
    if isinstance(end, ProgramError) or job.job_output is None:
        details = (end.error if isinstance(end, ProgramError) else None) or {}
        item |= {"Status": "FAILED", "Error": details.get("error"), "Cause": details.get("cause")}
    else:
        item |= {"Status": "SUCCEEDED", "Output": json.dumps(job.job_output)}
    with _lock:
        _ended_items.setdefault(self._map_run_record.map_run_arn, []).append(item)


def _timestamp() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _write_results(env, resource_runtime_part, state_credentials) -> None:
    """Replaces ResourceEvalS3._handle_put_object (moto internal): pops what moto's own handler
    pops (the writer's parameters, the map's results) and pushes the same output."""
    parameters = env.stack.pop()
    env.stack.pop()  # the map's results: the items' outputs, failed ones as null
    s3 = result_writer.ResourceEvalS3._get_s3_client(resource_runtime_part, state_credentials)
    map_run_arn = env.map_run_record_pool_manager.get_all().pop().map_run_arn
    with _lock:
        items = sorted(_ended_items.pop(map_run_arn, []), key=lambda item: item["Index"])
    bucket, prefix = parameters["Bucket"], parameters.get("Prefix", "").rstrip("/")
    folder = f"{prefix}/{map_run_arn.split(':')[-1]}/".lstrip("/")
    manifest_key = write_layout(s3, bucket, folder, map_run_arn, items)
    env.stack.append(
        {"MapRunArn": map_run_arn, "ResultWriterDetails": {"Bucket": bucket, "Key": manifest_key}}
    )


def write_layout(s3: Any, bucket: str, folder: str, map_run_arn: str, items: list[dict]) -> str:
    """AWS's ResultWriter layout under `folder`: one file per status that has items, and the
    manifest naming them; returns the manifest's key."""
    execution_prefix = map_run_arn.replace(":mapRun:", ":execution:", 1).rsplit(":", 1)[0]
    files: dict[str, list[dict]] = {status: [] for status in ("FAILED", "PENDING", "SUCCEEDED")}
    for status in RESULT_FILE_KEYS:
        entries = [
            {key: value for key, value in item.items() if key != "Index"}
            | {"ExecutionArn": f"{execution_prefix}:{item['Name']}"}
            for item in items
            if item["Status"] == status
        ]
        if entries:
            body = json.dumps(entries).encode()
            key = f"{folder}{status}_0.json"
            s3.put_object(Bucket=bucket, Key=key, Body=body)
            files[status].append({"Key": key, "Size": len(body)})
    manifest = {"DestinationBucket": bucket, "MapRunArn": map_run_arn, "ResultFiles": files}
    s3.put_object(Bucket=bucket, Key=f"{folder}manifest.json", Body=json.dumps(manifest).encode())
    return f"{folder}manifest.json"


_moto_eval_input = item_worker.DistributedItemProcessorWorker._eval_input
_moto_eval_job = item_worker.DistributedItemProcessorWorker._eval_job


def bridge_result_writer() -> None:
    item_worker.DistributedItemProcessorWorker._eval_input = _select_item
    item_worker.DistributedItemProcessorWorker._eval_job = _record_item
    result_writer.ResourceEvalS3._handle_put_object = staticmethod(_write_results)


# 3. describe_map_run ----------------------------------------------------------------------


def _describe_map_run(self, map_run_arn: str) -> dict[str, Any]:
    """Replaces StepFunctionsParserBackend.describe_map_run (moto internal), skipping the
    executions whose worker (`exec_worker`, its `env`) is not set up yet."""
    for execution in self._get_executions():
        env = getattr(execution.exec_worker, "env", None)
        if env and (record := env.map_run_record_pool_manager.get(map_run_arn)) is not None:
            return record.describe()
    raise ResourceNotFound()


def bridge_describe_map_run() -> None:
    StepFunctionsParserBackend.describe_map_run = _describe_map_run
