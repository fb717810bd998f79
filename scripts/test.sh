#!/usr/bin/env bash
# The project's single test command. Extra arguments are forwarded to `cargo test`,
# e.g. `scripts/test.sh --test sdk_clients -- --nocapture`.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

bash "$ROOT/scripts/install-test-tools.sh"

export MCP_PROMPTS_PYTHON="$ROOT/.tools/venv/bin/python"
export MCP_PROMPTS_NODE_CLIENTS="$ROOT/tests/clients"

# Every crate of the workspace and every target (unit, integration, benches as
# checks), with the AWS column built in (`--features mcp-prompts/aws`: its tests
# run against moto), unless the arguments pick targets themselves:
# `--all-targets --test X` would still run them all.
FEATURES=(--features mcp-prompts/aws)
for arg in "$@"; do
    case "$arg" in
    --) break ;;
    --lib | --bins | --bin | --bin=* | --test | --test=* | --tests | --bench | --bench=* | --benches | --doc | --examples | --example | --example=*)
        exec cargo test "${FEATURES[@]}" "$@"
        ;;
    esac
done
cargo test --workspace --all-targets "${FEATURES[@]}" "$@"
# The CDK stack (infra/): synthesized and checked offline (node's test runner,
# cdk-nag, cfn-lint, checkov); installs its own tools the first time.
bash "$ROOT/infra/test.sh"
