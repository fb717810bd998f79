#!/usr/bin/env bash
# Installs what the web UI tests (tests/web_ui.rs, tests/web/*.test.mjs) need:
#   /usr/bin/chromium           Debian's chromium package (apt-get, only when missing)
#   tests/web/node_modules      playwright-core and axe-core, `npm ci` from the committed lockfile
# Idempotent and fast when already installed. Never downloads a browser build of its own
# (no `npx playwright install`): playwright-core drives the system chromium.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WEB_TESTS="$ROOT/tests/web"
STAMP="$WEB_TESTS/node_modules/.install.stamp"

log() { echo "install-web-test-tools: $*" >&2; }

for tool in node npm; do
    command -v "$tool" >/dev/null 2>&1 || { log "error: '$tool' not found on PATH"; exit 1; }
done

if [[ ! -x /usr/bin/chromium ]]; then
    command -v apt-get >/dev/null 2>&1 || { log "error: /usr/bin/chromium missing and no apt-get"; exit 1; }
    SUDO=""
    if [[ "$(id -u)" != "0" ]]; then SUDO="sudo"; fi
    log "installing Debian's chromium package"
    if ! $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium; then
        log "apt-get install failed; running apt-get update first"
        $SUDO apt-get update
        $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium
    fi
    [[ -x /usr/bin/chromium ]] || { log "error: /usr/bin/chromium still missing"; exit 1; }
fi

want="$(cat "$WEB_TESTS/package.json" "$WEB_TESTS/package-lock.json" | sha256sum | cut -d' ' -f1)"
if [[ -f "$STAMP" ]] && [[ "$(cat "$STAMP")" == "$want" ]] \
    && [[ -f "$WEB_TESTS/node_modules/playwright-core/package.json" ]] \
    && [[ -f "$WEB_TESTS/node_modules/axe-core/axe.min.js" ]]; then
    exit 0
fi
log "npm ci in tests/web"
(cd "$WEB_TESTS" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
[[ -f "$WEB_TESTS/node_modules/playwright-core/package.json" ]] || { log "error: playwright-core missing"; exit 1; }
echo "$want" >"$STAMP"
log "done"
