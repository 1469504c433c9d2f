#!/usr/bin/env bash
# Print the path of the pinned Helm, building it from the Go module proxy the first time.
# Cached in ${CALORIES_TOOLS_DIR:-~/.cache/calories/tools}; the first build takes minutes, later calls none.
set -euo pipefail
HELM_VERSION=v3.21.4
TOOLS="${CALORIES_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/calories/tools}"
BIN="$TOOLS/helm-$HELM_VERSION/helm"
if [[ ! -x "$BIN" ]]; then
  command -v go >/dev/null || { echo "charts/tools/helm.sh: Go is needed to build Helm $HELM_VERSION" >&2; exit 1; }
  echo "[charts] building Helm $HELM_VERSION from the Go module proxy (first time only)" >&2
  mkdir -p "$(dirname "$BIN")"
  GOBIN="$(dirname "$BIN")" GOFLAGS=-mod=mod go install "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" >&2
fi
echo "$BIN"
