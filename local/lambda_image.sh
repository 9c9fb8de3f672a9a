#!/bin/bash
# Builds, once, a local image that runs the functions' Python 3.13 Lambda runtime the way AWS's
# public.ecr.aws/lambda/python:3.13 image does, for `sam local invoke --invoke-image TAG
# --skip-pull-image` (which `make invoke` and the sam local tests use when the tag exists) on
# a machine that reaches no container registry: a Debian minbase root (debootstrap) with
# Debian's python3.13, awslambdaric and boto3 in /var/runtime, and the /var/runtime/bootstrap
# that the Lambda runtime interface emulator (aws-lambda-rie, which SAM CLI adds to the
# image) starts. debootstrap checks Debian's signatures against the archive keyring (it
# refuses to run without it); the Python packages are pinned and hashed for both
# architectures in local/lambda_image.requirements.txt (local/lambda_image_requirements.py
# writes it). Skips all of it when the tag exists. Where AWS's image can be pulled, none of
# this is needed.
#
# Usage: sudo local/lambda_image.sh [x86_64|arm64]   (a Lambda architecture; the host's by default)
# Needs root, a running Docker engine and debootstrap (installed when missing); a foreign
# architecture also needs its qemu binfmt handler registered (qemu-user-static). PYTHON names
# the interpreter whose pip downloads the wheels (python3 by default). Prints the image tag last.
set -euo pipefail
SUITE=trixie  # the first Debian release with Python 3.13
KEYRING=${DEBIAN_KEYRING:-/usr/share/keyrings/debian-archive-keyring.gpg}  # debian-archive-keyring
REQUIREMENTS=$(cd "$(dirname "$0")" && pwd)/lambda_image.requirements.txt

case ${1:-$(uname -m)} in
  x86_64|amd64) lambda_arch=x86_64 deb_arch=amd64 wheel_arch=x86_64 ;;
  arm64|aarch64) lambda_arch=arm64 deb_arch=arm64 wheel_arch=aarch64 ;;
  *) echo "lambda image: unknown architecture '$1' (x86_64 or arm64)" >&2; exit 2 ;;
esac
tag=${LAMBDA_IMAGE_TAG:-local/lambda-python:3.13-$lambda_arch}
if docker image inspect "$tag" >/dev/null 2>&1; then echo "$tag"; exit 0; fi
if [ "$wheel_arch" != "$(uname -m)" ] && ! grep -qx enabled "/proc/sys/fs/binfmt_misc/qemu-$wheel_arch" 2>/dev/null; then
  echo "lambda image: $lambda_arch here needs qemu-$wheel_arch registered (qemu-user-static, binfmt-support)" >&2
  exit 1
fi

command -v debootstrap >/dev/null ||
  apt-get install -y -q debootstrap >/dev/null 2>&1 || { echo "lambda image: no debootstrap" >&2; exit 1; }
[ -r "$KEYRING" ] || {
  echo "lambda image: no Debian archive keyring at $KEYRING to check $SUITE's signatures: install debian-archive-keyring" >&2
  exit 1
}
work=$(mktemp -d "${TMPDIR:-/tmp}/lambda-image.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/root
fail() { tail -n5 "$work/log" >&2; echo "lambda image: $1" >&2; exit 1; }

debootstrap --keyring="$KEYRING" --force-check-gpg \
  --arch="$deb_arch" --variant=minbase --include=python3.13,ca-certificates \
  "$SUITE" "$root" >"$work/log" 2>&1 || fail "debootstrap $SUITE $deb_arch failed"
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/usr/share/{doc,man,locale}/*

# Wheels for the image's Python and architecture, whatever Python runs pip here; every one
# pinned and hashed (pip refuses a wheel whose hash the file does not list).
"${PYTHON:-python3}" -m pip install --disable-pip-version-check --root-user-action=ignore --no-compile \
  --target "$root/var/runtime" --only-binary=:all: --implementation cp --python-version 3.13 \
  --platform "manylinux_2_28_$wheel_arch" --platform "manylinux2014_$wheel_arch" \
  --require-hashes --no-deps -r "$REQUIREMENTS" >"$work/log" 2>&1 || fail "pip install failed"
# Byte-code compiled by the image's own interpreter, as the Lambda images ship it: a new
# container per invocation would otherwise compile botocore at every cold start.
chroot "$root" /usr/bin/python3.13 -m compileall -q /var/runtime >"$work/log" 2>&1 || fail "compileall failed"

# As on Lambda: the function's code first, then its layers, then the runtime's own packages.
cat >"$root/var/runtime/bootstrap" <<'BOOTSTRAP'
#!/bin/sh
export PYTHONPATH=/var/task:/opt/python/lib/python3.13/site-packages:/opt/python:/var/runtime
exec /usr/bin/python3.13 -m awslambdaric "${_HANDLER:-$AWS_LAMBDA_FUNCTION_HANDLER}"
BOOTSTRAP
chmod +x "$root/var/runtime/bootstrap"
mkdir -p "$root/var/task" "$root/opt"

# FROM scratch, so that the image says it is for $deb_arch (docker import labels every image with
# the engine's own architecture, and SAM CLI builds an arm64 function's image for linux/arm64).
mkdir "$work/context"
tar -C "$root" -cf "$work/context/root.tar" .
cat >"$work/context/Dockerfile" <<'DOCKERFILE'
FROM scratch
ADD root.tar /
ENV LANG=C.UTF-8 TZ=:UTC LAMBDA_TASK_ROOT=/var/task LAMBDA_RUNTIME_DIR=/var/runtime
WORKDIR /var/task
ENTRYPOINT ["/var/runtime/bootstrap"]
DOCKERFILE
DOCKER_BUILDKIT=0 docker build --platform "linux/$deb_arch" -t "$tag" "$work/context" >"$work/log" 2>&1 ||
  fail "docker build failed"
echo "$tag"
