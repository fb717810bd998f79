#!/usr/bin/env bash
# Supply-chain checks (issue 17.6), run by hand, not by scripts/test.sh or CI
# (cargo-deny takes minutes to compile the first time):
#   cargo deny check licenses bans sources   (deny.toml; offline)
#   cargo deny check advisories              (only with --advisories: the RustSec
#                                             database is fetched from GitHub)
#   npm audit --omit=dev                     (tests/clients and infra lockfiles;
#                                             skipped with a note when the audit
#                                             endpoint cannot be reached)
# cargo-deny is installed into the project-local .tools/ when missing.
# Exits non-zero when a cargo-deny check fails or npm reports a vulnerability.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$ROOT/.tools"
DENY="$TOOLS/bin/cargo-deny"
cd "$ROOT"

log() { echo "supply-chain: $*" >&2; }

ADVISORIES=0
for arg in "$@"; do
    case "$arg" in
    --advisories) ADVISORIES=1 ;;
    *) log "unknown argument '$arg' (only --advisories)"; exit 2 ;;
    esac
done

if [[ ! -x "$DENY" ]]; then
    log "installing cargo-deny into .tools/"
    cargo install --locked --root "$TOOLS" cargo-deny || { log "error: cargo install cargo-deny failed"; exit 1; }
fi

status=0
checks=(licenses bans sources)
if [[ "$ADVISORIES" == "1" ]]; then
    checks+=(advisories)
fi
log "cargo deny check ${checks[*]}"
# --all-features: the AWS column's dependencies are checked too.
"$DENY" --all-features check "${checks[@]}" || status=1
if [[ "$ADVISORIES" == "0" ]]; then
    log "advisories skipped (the RustSec database comes from GitHub): pass --advisories to run it"
fi

for dir in tests/clients infra; do
    if [[ ! -f "$ROOT/$dir/package-lock.json" ]]; then
        log "$dir: no package-lock.json, npm audit skipped"
        continue
    fi
    log "npm audit --omit=dev in $dir"
    out="$(cd "$ROOT/$dir" && npm audit --omit=dev 2>&1)"
    rc=$?
    echo "$out"
    if [[ $rc -ne 0 ]]; then
        if grep -qiE 'ENOTFOUND|ECONNREFUSED|ETIMEDOUT|EAI_AGAIN|audit endpoint returned an error|network' <<<"$out"; then
            log "$dir: the npm audit endpoint could not be reached or refused the request; skipped"
        else
            log "$dir: npm audit reported vulnerabilities"
            status=1
        fi
    fi
done
exit $status
