#!/usr/bin/env bash
# Installs the project-local tools that the integration tests need:
#   .tools/venv            Python venv with tests/clients/requirements.txt (official MCP Python SDK 1.x)
#   tests/clients/node_modules   official MCP TypeScript SDK (npm ci from the committed lockfile)
#   .tools/venv-mcp2, .tools/node22, .tools/mcp-tools   see "Streamable HTTP / stdio" below
# Idempotent and fast when already installed: a stamp file keyed on a hash of the
# requirement files (and the interpreter versions) skips the work.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$ROOT/.tools"
VENV="$TOOLS/venv"
CLIENTS="$ROOT/tests/clients"
STAMP="$TOOLS/install.stamp"
PYTHON="${PYTHON:-python3}"

log() { echo "install-test-tools: $*" >&2; }

for tool in "$PYTHON" node npm; do
    command -v "$tool" >/dev/null 2>&1 || { log "error: '$tool' not found on PATH"; exit 1; }
done

mkdir -p "$TOOLS"

# Serialize concurrent runs (e.g. two shells running scripts/test.sh).
if command -v flock >/dev/null 2>&1; then
    exec 9>"$TOOLS/install.lock"
    flock 9
fi

fingerprint() {
    {
        "$PYTHON" --version 2>&1
        node --version
        cat "$CLIENTS/requirements.txt" "$CLIENTS/package.json"
        if [[ -f "$CLIENTS/package-lock.json" ]]; then cat "$CLIENTS/package-lock.json"; fi
    } | sha256sum | cut -d' ' -f1
}

installed_ok() {
    [[ -f "$STAMP" ]] \
        && [[ "$(cat "$STAMP")" == "$(fingerprint)" ]] \
        && [[ -x "$VENV/bin/python" ]] \
        && compgen -G "$VENV/lib/python3*/site-packages/mcp/client/websocket.py" >/dev/null \
        && [[ -f "$CLIENTS/node_modules/@modelcontextprotocol/sdk/package.json" ]]
}

# --- AWS column (owned by the AWS adapter work; separate venv and stamp) ---------
# .tools/venv-aws: moto[server] for tests/aws_*.rs (a local AWS endpoint, no
# account, no Docker). With INSTALL_AWS_PACKAGING=1 also cargo-lambda and ziglang
# for `cargo lambda build --release --arm64` (not needed by the tests).
AWS_VENV="$TOOLS/venv-aws"
AWS_STAMP="$TOOLS/install-aws.stamp"
AWS_REQUIREMENTS=("moto[server]==5.2.5")
if [[ "${INSTALL_AWS_PACKAGING:-0}" == "1" ]]; then
    AWS_REQUIREMENTS+=("cargo-lambda" "ziglang")
fi
aws_fingerprint() {
    { "$PYTHON" --version 2>&1; printf '%s\n' "${AWS_REQUIREMENTS[@]}"; } | sha256sum | cut -d' ' -f1
}
if [[ ! -f "$AWS_STAMP" ]] || [[ "$(cat "$AWS_STAMP")" != "$(aws_fingerprint)" ]] \
    || [[ ! -x "$AWS_VENV/bin/moto_server" ]]; then
    if [[ ! -x "$AWS_VENV/bin/python" ]]; then
        log "creating Python venv at .tools/venv-aws"
        "$PYTHON" -m venv "$AWS_VENV"
    fi
    log "installing ${AWS_REQUIREMENTS[*]} into .tools/venv-aws"
    "$AWS_VENV/bin/python" -m pip install --quiet --disable-pip-version-check "${AWS_REQUIREMENTS[@]}"
    [[ -x "$AWS_VENV/bin/moto_server" ]] || { log "error: moto_server missing after install"; exit 1; }
    aws_fingerprint >"$AWS_STAMP"
fi

# --- Streamable HTTP / stdio / conformance (separate folders and stamps) --------
# .tools/venv-mcp2   Python SDK 2.x (tests/transports/requirements-mcp2.txt)
# .tools/node22      Node 22 from npm (the conformance suite needs Node >= 22)
# .tools/mcp-tools   @modelcontextprotocol/conformance and inspector-cli
#                    (npm ci from tests/transports/package-lock.json)
TRANSPORTS="$ROOT/tests/transports"
NODE22_VERSION="22.23.3"
install_transport_tools() {
    local venv="$TOOLS/venv-mcp2" stamp="$TOOLS/install-mcp2.stamp" want
    want="$({ "$PYTHON" --version 2>&1; cat "$TRANSPORTS/requirements-mcp2.txt"; } | sha256sum | cut -d' ' -f1)"
    if [[ ! -f "$stamp" ]] || [[ "$(cat "$stamp")" != "$want" ]] || [[ ! -x "$venv/bin/python" ]]; then
        if [[ ! -x "$venv/bin/python" ]]; then
            log "creating Python venv at .tools/venv-mcp2"
            "$PYTHON" -m venv "$venv"
        fi
        log "installing tests/transports/requirements-mcp2.txt into .tools/venv-mcp2"
        "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$TRANSPORTS/requirements-mcp2.txt"
        "$venv/bin/python" -c 'from mcp import Client' \
            || { log "error: .tools/venv-mcp2 has no mcp.Client (SDK 2.x)"; exit 1; }
        echo "$want" >"$stamp"
    fi

    local node22="$TOOLS/node22" node22_bin="$TOOLS/node22/node_modules/node/bin/node"
    if [[ ! -x "$node22_bin" ]] || [[ "$("$node22_bin" --version 2>/dev/null)" != "v$NODE22_VERSION" ]]; then
        log "installing node@$NODE22_VERSION into .tools/node22"
        rm -rf "$node22"
        mkdir -p "$node22"
        npm install --prefix "$node22" --no-audit --no-fund --loglevel=error "node@$NODE22_VERSION"
        [[ "$("$node22_bin" --version)" == "v$NODE22_VERSION" ]] \
            || { log "error: .tools/node22 does not run node v$NODE22_VERSION"; exit 1; }
    fi

    local tools="$TOOLS/mcp-tools" stamp_tools="$TOOLS/install-mcp-tools.stamp"
    want="$(cat "$TRANSPORTS/package.json" "$TRANSPORTS/package-lock.json" | sha256sum | cut -d' ' -f1)"
    if [[ ! -f "$stamp_tools" ]] || [[ "$(cat "$stamp_tools")" != "$want" ]] \
        || [[ ! -f "$tools/node_modules/@modelcontextprotocol/conformance/package.json" ]]; then
        log "npm ci of tests/transports into .tools/mcp-tools"
        rm -rf "$tools"
        mkdir -p "$tools"
        cp "$TRANSPORTS/package.json" "$TRANSPORTS/package-lock.json" "$tools/"
        (cd "$tools" && npm ci --no-audit --no-fund --loglevel=error)
        [[ -f "$tools/node_modules/@modelcontextprotocol/inspector-cli/build/index.js" ]] \
            || { log "error: inspector-cli missing after npm ci"; exit 1; }
        echo "$want" >"$stamp_tools"
    fi
}
install_transport_tools
# --- end of the AWS column block ------------------------------------------------

# The web UI's browser tests: Debian's chromium, playwright-core, axe-core.
bash "$ROOT/scripts/install-web-test-tools.sh"

if installed_ok; then
    exit 0
fi

rm -f "$STAMP"

# --- Python ---------------------------------------------------------------
if [[ ! -x "$VENV/bin/python" ]] \
    || [[ "$("$VENV/bin/python" --version 2>&1)" != "$("$PYTHON" --version 2>&1)" ]]; then
    log "creating Python venv at .tools/venv"
    rm -rf "$VENV"
    "$PYTHON" -m venv "$VENV"
fi
log "installing tests/clients/requirements.txt"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$CLIENTS/requirements.txt"
"$VENV/bin/python" -c 'from mcp.client.websocket import websocket_client; import mcp; mcp.ClientSession' \
    || { log "error: the installed mcp package has no mcp.client.websocket"; exit 1; }

# --- Node -----------------------------------------------------------------
cd "$CLIENTS"
if [[ -f package-lock.json ]]; then
    log "npm ci in tests/clients"
    npm ci --no-audit --no-fund --loglevel=error
else
    log "npm install in tests/clients (no lockfile yet: commit tests/clients/package-lock.json)"
    npm install --no-audit --no-fund --loglevel=error
fi
[[ -f node_modules/@modelcontextprotocol/sdk/package.json ]] \
    || { log "error: @modelcontextprotocol/sdk missing after npm install"; exit 1; }

# Hash after installing: `npm install` may have just written the lockfile.
fingerprint >"$STAMP"
log "done"
