#!/bin/sh
# Runs the extension tests in a real VS Code (code-server 4.100.3 in headless Chromium), offline:
# installs code-server, chromium and ripgrep when missing, builds, then runs the integration suite and
# the UI test. It also packages the .vsix and runs the suite against the installed
# package (skip with DEFUSER_TEST_VSIX=0). Every step runs, and the script exits non-zero when any of them fails.
set -u
cd "$(dirname "$0")/.."

# `npm test` sets DEFUSER_SKIP_SETUP=1 because it has installed and built already.
if [ "${DEFUSER_SKIP_SETUP:-0}" != 1 ]; then
  scripts/install-code-server.sh || exit 1
  npm run build --silent || exit 1
fi
node test/vscode/build.mjs || exit 1

status=0
node --import tsx test/vscode/harness/runIntegration.ts --quiet || status=1
node --import tsx test/vscode/e2e/defuse.e2e.ts || status=1
if [ "${DEFUSER_TEST_VSIX:-1}" = 1 ]; then
  vsix=$(mktemp -d)/defuser.vsix
  npx vsce package --allow-missing-repository --no-rewrite-relative-links --out "$vsix" >/dev/null || status=1
  node --import tsx test/vscode/harness/runIntegration.ts --quiet --vsix "$vsix" || status=1
  rm -rf "$(dirname "$vsix")"
fi
exit $status
