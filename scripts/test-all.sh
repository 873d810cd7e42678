#!/bin/sh
# `npm test`: installs what the browser and VS Code tests need when it is missing (Debian chromium and
# ripgrep, code-server 4.100.3), builds, lints, then runs the unit, webview and VS Code suites. Every
# suite runs even when an earlier one fails; the exit code is non-zero when any step failed.
set -u
cd "$(dirname "$0")/.."

scripts/install-code-server.sh || exit 1
npm run build --silent || exit 1

failed=""
npm run lint --silent || failed="$failed lint"
npm run test:unit --silent || failed="$failed unit"
npm run test:webview --silent || failed="$failed webview"
DEFUSER_SKIP_SETUP=1 sh scripts/ci-vscode.sh || failed="$failed vscode"

if [ -n "$failed" ]; then
  echo "npm test: failed:$failed"
  exit 1
fi
echo "npm test: lint, unit, webview and VS Code suites passed"
