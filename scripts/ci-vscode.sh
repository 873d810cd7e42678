#!/bin/sh
# Runs the extension tests in a real VS Code (code-server 4.100.3 in headless Chromium), offline:
# installs code-server, chromium and ripgrep when missing, builds, then runs the integration suite and
# the UI test. Both always run, and the script exits non-zero when either fails.
set -u
cd "$(dirname "$0")/.."

scripts/install-code-server.sh || exit 1
npm run build --silent || exit 1
node test/vscode/build.mjs || exit 1

status=0
node --import tsx test/vscode/harness/runIntegration.ts --quiet || status=1
node --import tsx test/vscode/e2e/defuse.e2e.ts || status=1
exit $status
