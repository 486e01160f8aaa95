#!/usr/bin/env bash
# Installs and starts the node agent on an Azure VM. cloud-init runs it from the scale set's customData
# (shared/domain/agent-bootstrap.ts) after unpacking the agent package into /opt/batchai:
#   /opt/batchai/install-agent.sh --config /etc/batchai/agent.json
# The agent needs only Node.js 20 (it has no npm dependencies); the mount drivers and the file-server tools come
# from the distribution. Idempotent: a reboot or a second run changes nothing.
set -euo pipefail

CONFIG=/etc/batchai/agent.json
while [ $# -gt 0 ]; do
  case "$1" in
    --config) CONFIG="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done

export DEBIAN_FRONTEND=noninteractive
if ! command -v node >/dev/null || ! node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)'; then
  curl -fsSL https://deb.nodesource.com/setup_20.x | bash -
  apt-get install -y nodejs
fi
# Mount drivers (blobfuse2 from Microsoft's package feed), NFS server/client and RAID tools for file servers.
if ! command -v blobfuse2 >/dev/null; then
  . /etc/os-release
  curl -fsSL "https://packages.microsoft.com/config/ubuntu/${VERSION_ID}/packages-microsoft-prod.deb" -o /tmp/msprod.deb
  dpkg -i /tmp/msprod.deb
  apt-get update
fi
apt-get install -y blobfuse2 fuse3 cifs-utils nfs-common nfs-kernel-server mdadm

cat > /etc/systemd/system/batchai-agent.service <<UNIT
[Unit]
Description=Batch AI node agent
After=network-online.target
Wants=network-online.target

[Service]
# --lite-mode: no optimizing compiler; the agent is I/O-bound and stays ~10 MB smaller (bench/agent-idle-rss.ts).
ExecStart=$(command -v node) --lite-mode /opt/batchai/dist/agent/main.js --config ${CONFIG}
Restart=always
RestartSec=2
# SIGTERM to the agent only: it reports 'stopping' and kills its tasks' process groups itself.
KillMode=mixed
TimeoutStopSec=15

[Install]
WantedBy=multi-user.target
UNIT
systemctl daemon-reload
systemctl enable --now batchai-agent.service
