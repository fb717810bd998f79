#!/usr/bin/env bash
# Builds the Lambda artifact the CDK stack (infra/) deploys:
#   target/lambda/mcp-prompts-lambda/bootstrap   (provided.al2023, arm64)
#   target/lambda/mcp-prompts-lambda.zip         (the same, zipped; also usable as lambdaArtifact)
# with `cargo lambda build --release --arm64 --features aws --bin mcp-prompts-lambda`, stripped
# and without debug info. Cached: does nothing when the bootstrap is newer than
# every input (src/ crates/ web/ Cargo.toml Cargo.lock rust-toolchain.toml);
# FORCE=1 rebuilds. Takes ~40 minutes from cold on 2 cores (ARCHITECTURE.md).
#
# Tools: cargo-lambda + ziglang from .tools/venv-aws, installed by
#   INSTALL_AWS_PACKAGING=1 bash scripts/install-test-tools.sh
# (run here when missing), and the aarch64-unknown-linux-gnu Rust target
# (added with rustup when missing).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BIN=mcp-prompts-lambda
OUT_DIR="$ROOT/target/lambda/$BIN"
ARTIFACT="$OUT_DIR/bootstrap"
ZIP="$ROOT/target/lambda/$BIN.zip"
VENV="$ROOT/.tools/venv-aws"
TARGET=aarch64-unknown-linux-gnu

log() { printf 'build-lambda: %s\n' "$*" >&2; }
size() { # bytes and MiB of a file
  local b
  b=$(stat -c %s "$1")
  printf '%s bytes (%s MiB)' "$b" "$(awk -v b="$b" 'BEGIN { printf "%.1f", b / 1048576 }')"
}

inputs=()
for p in src crates web Cargo.toml Cargo.lock rust-toolchain.toml; do
  [[ -e $p ]] && inputs+=("$p")
done

fresh() {
  [[ -f $ARTIFACT && -f $ZIP ]] || return 1
  # Any input file modified after the artifact means a rebuild.
  [[ -z "$(find "${inputs[@]}" -type f -newer "$ARTIFACT" -print -quit)" ]]
}

if [[ ${FORCE:-0} != 1 ]] && fresh; then
  log "up to date: $ARTIFACT is newer than ${inputs[*]} (FORCE=1 rebuilds)"
else
  if [[ ! -x $VENV/bin/cargo-lambda ]] || ! "$VENV/bin/python" -c 'import ziglang' 2>/dev/null; then
    log "cargo-lambda/ziglang missing: INSTALL_AWS_PACKAGING=1 bash scripts/install-test-tools.sh"
    INSTALL_AWS_PACKAGING=1 bash scripts/install-test-tools.sh
  fi
  if command -v rustup >/dev/null && ! rustup target list --installed | grep -qx "$TARGET"; then
    log "rustup target add $TARGET"
    rustup target add "$TARGET"
  fi
  log "cargo lambda build --release --arm64 --features aws --bin $BIN (stripped, no debug info)"
  # The venv's bin first: cargo-lambda finds zig through its python (ziglang).
  PATH="$VENV/bin:$PATH" \
    CARGO_PROFILE_RELEASE_DEBUG=false \
    CARGO_PROFILE_RELEASE_STRIP=true \
    cargo lambda build --release --arm64 --features aws --bin "$BIN"
  [[ -f $ARTIFACT ]] || { log "error: $ARTIFACT was not produced"; exit 1; }
  # Zip with the executable bit kept (Lambda runs bootstrap as it is).
  python3 - "$ARTIFACT" "$ZIP" <<'PY'
import sys, zipfile
src, dst = sys.argv[1], sys.argv[2]
info = zipfile.ZipInfo("bootstrap", date_time=(1980, 1, 1, 0, 0, 0))
info.external_attr = 0o100755 << 16
info.compress_type = zipfile.ZIP_DEFLATED
with open(src, "rb") as f, zipfile.ZipFile(dst, "w") as z:
    z.writestr(info, f.read(), compresslevel=9)
PY
  # cargo leaves an unchanged binary with its old mtime: mark it built now so
  # the next run is a no-op until an input changes.
  touch "$ARTIFACT"
fi

log "bootstrap: $ARTIFACT, $(size "$ARTIFACT")"
log "zipped:    $ZIP, $(size "$ZIP")"
log "deploy: cd infra && npx cdk deploy   (or -c lambdaArtifact=$ZIP)"
