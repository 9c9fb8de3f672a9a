"""AWS on one machine, for the runners and the tests:

- `workflow`: the SAM application's wiring (the real handlers, the ASL in moto's Step Functions);
- `template`: template.yaml read as data, so the local pieces follow it rather than copy it;
- `loopback`: what the two loopback servers share; `lambda_server` answers Lambda's Invoke
  API with the handlers, `endpoint` answers SageMaker runtime's InvokeEndpoint with a model;
- `arrivals`: the arrivals rule, S3 -> EventBridge in moto, bridged to Step Functions;
- `distributed_map`: the backfill's Distributed Map, moto's gaps bridged;
- `moto_speed`: moto's Step Functions interpreter, made to keep what it rebuilds.
"""
