#!/usr/bin/env bash
# The project's single test command. Extra arguments are forwarded to `cargo test`,
# e.g. `scripts/test.sh --test sdk_clients -- --nocapture`.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

bash "$ROOT/scripts/install-test-tools.sh"

export MCP_PROMPTS_PYTHON="$ROOT/.tools/venv/bin/python"
export MCP_PROMPTS_NODE_CLIENTS="$ROOT/tests/clients"

exec cargo test --all-targets "$@"
