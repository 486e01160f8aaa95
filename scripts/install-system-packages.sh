#!/bin/sh
# Debian packages the system tests (test/system/, `npm run test:system`) need: the official Batch AI Python SDK
# (azure.mgmt.batchai 7.0.0b1, shipped in python3-azure) for the Python SDK check, PyTorch (CPU) and Open MPI for
# the distributed examples. Idempotent: installs only
# what is missing. Needs root (or sudo) and network access to the Debian mirrors.
set -eu

PACKAGES="python3 python3-azure python3-torch openmpi-bin"

missing=""
for p in $PACKAGES; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing="$missing $p"
  fi
done
if [ -z "$missing" ]; then
  echo "install-system-packages: all present ($PACKAGES)"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install-system-packages: installing$missing"
# A mirror hiccup should not fail a run: try the whole install a few times.
for attempt in 1 2 3; do
  # shellcheck disable=SC2086
  if $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing; then
    break
  fi
  [ "$attempt" = 3 ] && exit 1
  echo "install-system-packages: attempt $attempt failed; retrying in 10 s"
  sleep 10
done
/usr/bin/python3 -c "import azure.mgmt.batchai, sys; print('azure.mgmt.batchai', azure.mgmt.batchai.VERSION, 'on', sys.version.split()[0])"
