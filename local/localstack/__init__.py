"""LocalStack on one machine, offline: how `make acceptance` starts it and what it lacks here.

- `server`: LocalStack (localstack-core, host mode, its own python3.13 virtualenv) started with
  the configuration the acceptance run needs, and stopped with everything it started;
- `lambda_init.py`: the container init LocalStack's Lambda normally downloads, as an adapter
  to AWS's Runtime Interface Emulator (it runs inside the function containers);
- `docker_offline.sh`: the docker command LocalStack calls, for a pull it cannot make offline.

Nothing here is part of the application: no function, layer or template refers to it.
"""
