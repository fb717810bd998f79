#!/usr/bin/env bash
# Offline checks of the CDK stack (issue 19). From any directory:
#   bash infra/test.sh
# 1. npm ci (only when package-lock.json changed), 2. cfn-lint + checkov into
# $ROOT/.tools/venv-infra (only when requirements-lint.txt changed), 3. tsc,
# 4. a dummy bootstrap artifact in a temp dir (the tests check the template,
# not the binary), 5. the real entry bin/app.ts synthesizes with the cdk-nag
# AwsSolutions plugin (any finding not acknowledged with a reason fails it),
# 6. cfn-lint and 7. checkov on that template with the skip lists in lint/,
# 8. node's test runner on the compiled test/*.test.ts.
# Needs node 20+, npm, python3 with venv; reaches only the npm and PyPI registries.
set -euo pipefail

INFRA="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$INFRA/.." && pwd)"
VENV="$ROOT/.tools/venv-infra"
cd "$INFRA"

run() {
  printf '+ %s\n' "$*" >&2
  "$@"
}
step() { printf '\n== %s\n' "$*" >&2; }
hash_of() { cat "$@" | sha256sum | cut -d' ' -f1; }
# Reads "ID  reason" lines (comments and blank lines skipped); fails on an ID without a reason.
skip_ids() {
  local file=$1 id reason ids=()
  while read -r id reason; do
    [[ -z $id || $id == \#* ]] && continue
    if [[ -z $reason ]]; then
      echo "$file: $id has no reason" >&2
      return 1
    fi
    ids+=("$id")
  done <"$file"
  local IFS=,
  printf '%s' "${ids[*]}"
}

step "node modules"
want="$(hash_of package-lock.json)"
stamp="node_modules/.mcp-prompts-infra.lock-sha256"
if [[ -f $stamp && $(cat "$stamp") == "$want" ]]; then
  echo "up to date ($stamp)" >&2
else
  run npm ci --no-audit --no-fund --loglevel=error
  echo "$want" >"$stamp"
fi

step "lint tools ($VENV)"
want="$(hash_of requirements-lint.txt; python3 --version)"
vstamp="$VENV/.mcp-prompts-infra.sha256"
if [[ -x $VENV/bin/cfn-lint && -x $VENV/bin/checkov && -f $vstamp && $(cat "$vstamp") == "$want" ]]; then
  echo "up to date ($vstamp)" >&2
else
  run python3 -m venv "$VENV"
  run "$VENV/bin/pip" install --quiet --disable-pip-version-check -r requirements-lint.txt
  echo "$want" >"$vstamp"
fi

step "compile"
rm -rf dist
run node_modules/.bin/tsc -p .

TMP="$(mktemp -d "${TMPDIR:-/tmp}/mcp-prompts-infra.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT
mkdir -p "$TMP/lambda"
printf '#!/bin/sh\necho "dummy bootstrap: build the real one with scripts/build-lambda.sh" >&2\nexit 1\n' >"$TMP/lambda/bootstrap"
chmod +x "$TMP/lambda/bootstrap"
export MCP_PROMPTS_LAMBDA_ARTIFACT="$TMP/lambda/bootstrap"

step "synth (bin/app.ts, cdk-nag AwsSolutions as a validation plugin)"
# The context the CLI would pass: cdk.json's, plus the dummy artifact.
context="$(node -e 'const c = require("./cdk.json").context; c.lambdaArtifact = process.argv[1]; process.stdout.write(JSON.stringify(c))' "$MCP_PROMPTS_LAMBDA_ARTIFACT")"
CDK_OUTDIR="$TMP/cdk.out" CDK_CONTEXT_JSON="$context" run node dist/bin/app.js
template="$TMP/cdk.out/McpPrompts.template.json"
test -s "$template"
echo "synthesized $template ($(wc -c <"$template") bytes)" >&2

step "cfn-lint"
run "$VENV/bin/cfn-lint" --ignore-checks "$(skip_ids lint/cfn-lint-skips.txt)" -- "$template"

step "checkov"
run "$VENV/bin/checkov" --quiet --compact --skip-download --framework cloudformation \
  --skip-check "$(skip_ids lint/checkov-skips.txt)" -f "$template"

step "node --test"
export INFRA_TEMPLATE="$template"
# The tests' cloud assemblies go under $TMP too (removed on exit).
TMPDIR="$TMP" run node --test dist/test/*.test.js
