"""The workflow on one machine, with no AWS account. Three ways to run it:

- `demo` (`make demo`): everything in this process, no Docker: moto for AWS, the real handlers
  behind a loopback Lambda Invoke server, the stand-in model behind a loopback endpoint;
- `invoke` (`make invoke`): each sample event through `sam local invoke`, the functions in SAM
  CLI's Lambda containers, calling moto's server and the loopback endpoint;
- `acceptance` (`make acceptance`): the workflow against LocalStack.

What they are built from:

- `model/`: the stand-in for the SageMaker model, a small CPU classifier and its features;
- `emulation/`: AWS on one machine: moto made faster, the loopback servers (Lambda Invoke,
  SageMaker runtime), the arrivals and Distributed Map bridges, template.yaml read as data,
  and the application's wiring (`workflow`);
- `containers`: what the Docker-based runners share: is there an engine, can it run the
  architecture, the bridge's address, the offline Lambda image (`lambda_image.sh`), SAM CLI.
"""
