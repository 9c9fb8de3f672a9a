#!/bin/sh
# LocalStack's docker command when no registry can be reached (its DOCKER_CMD, which it uses with
# LEGACY_DOCKER_CLIENT=1): LocalStack pulls the runtime image before each function's first
# container, even one that is present. A pull of an image that is present succeeds here without
# a registry; everything else is docker itself. The pull LocalStack runs is
# `docker pull IMAGE --platform linux/ARCH`: the image is the argument that is not an option.
if [ "$1" = pull ]; then
  shift
  for argument; do
    case $argument in
      -*|linux/*) ;;
      *) docker image inspect "$argument" >/dev/null 2>&1 && exit 0 ;;
    esac
  done
  exec docker pull "$@"
fi
exec docker "$@"
