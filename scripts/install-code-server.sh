#!/usr/bin/env bash
# Installs code-server 4.100.3 (VS Code 1.100.3) into a cache folder for the offline VS Code tests,
# plus Debian chromium and ripgrep when they are missing. Only the npm registry and Debian apt are used.
# usage: scripts/install-code-server.sh [PREFIX]   (default /opt/code-server-4.100.3, or $CODE_SERVER_PREFIX)
set -euo pipefail
VERSION=4.100.3
PREFIX=${1:-${CODE_SERVER_PREFIX:-/opt/code-server-$VERSION}}
MARKER="$PREFIX/.defuser-install-complete"
# npm installs share the cache with other jobs on this machine, so they run under one lock.
NPM_LOCK=${NPM_LOCK:-/tmp/npm.lock}
npm_locked() { flock "$NPM_LOCK" npm "$@"; }

need_apt=()
command -v rg >/dev/null 2>&1 || need_apt+=(ripgrep)
[ -x /usr/lib/chromium/chromium ] || [ -x /usr/bin/chromium ] || need_apt+=(chromium)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "installing Debian packages: ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update
  apt-get install -y --no-install-recommends "${need_apt[@]}"
fi

if [ -f "$MARKER" ]; then
  echo "code-server $VERSION already installed in $PREFIX"
  exit 0
fi

mkdir -p "$PREFIX"
cd "$PREFIX"
[ -f package.json ] || echo '{"private":true}' > package.json
# Scripts are skipped: the postinstall wants --unsafe-perm (unknown to npm 11) and ripgrep's
# postinstall downloads from GitHub. The steps it would run are done by hand below.
npm_locked install "code-server@$VERSION" --omit=dev --ignore-scripts --no-audit --no-fund
# This machine's npmrc may set yes=false, which makes node-gyp fetching via npx abort.
export npm_config_yes=true
npm_locked rebuild argon2
cd node_modules/code-server/lib/vscode
npm_locked install --omit=dev --ignore-scripts --no-audit --no-fund
# kerberos is left out: it only serves Kerberos proxy login and needs libkrb5-dev to build.
npm_locked rebuild @vscode/spdlog node-pty @parcel/watcher native-watchdog @vscode/deviceid
ln -sfn node_modules node_modules.asar
(cd bin/remote-cli && ln -sfn code-linux.sh code-server)
(cd bin/helpers && ln -sfn browser-linux.sh browser.sh)
# workspace.findFiles and search need ripgrep, so the Debian binary replaces the one the postinstall would download.
mkdir -p node_modules/@vscode/ripgrep/bin
ln -sfn "$(command -v rg)" node_modules/@vscode/ripgrep/bin/rg
(cd extensions && npm_locked install --omit=dev --ignore-scripts --no-audit --no-fund)

date -u +%FT%TZ > "$MARKER"
echo "installed code-server $VERSION in $PREFIX"
echo "entry: $PREFIX/node_modules/code-server/out/node/entry.js"
