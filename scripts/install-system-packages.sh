#!/bin/sh
# Debian packages the system tests (test/system/, `npm run test:system`) need: the official Batch AI Python SDK
# (azure.mgmt.batchai 7.0.0b1, shipped in python3-azure) for the Python SDK check. Idempotent: installs only
# what is missing. Needs root (or sudo) and network access to the Debian mirrors.
set -eu

PACKAGES="python3 python3-azure"

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
$SUDO apt-get update -qq
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
/usr/bin/python3 -c "import azure.mgmt.batchai, sys; print('azure.mgmt.batchai', azure.mgmt.batchai.VERSION, 'on', sys.version.split()[0])"
