#!/usr/bin/env bash
# The sharded fan-out, measured: moto + a @connections stand-in with injected
# latency (default 20 ms per post), shard consumers draining the shard queue.
# bench/README.md ("Sharded fan-out on AWS") explains the table it prints.
#
#   bash bench/shards.sh                                # release build, the default runs
#                                                       # and the README's defaults
#   PROFILE=dev bash bench/shards.sh --consumers 1,2    # a debug build, other arguments
#
# Arguments go to the example (`--connections 10000,100000 --consumers 1,4
# --latency-ms 20 --budget 0 --frames 1 --plan-connections 10000`).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PROFILE="${PROFILE:-release}"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
DIR="$PROFILE"
[ "$PROFILE" = dev ] && DIR=debug

ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
cargo build --profile "$PROFILE" --features aws --example shard_bench
export AWS_EC2_METADATA_DISABLED=true
export MCP_PROMPTS_MOTO_SERVER="${MCP_PROMPTS_MOTO_SERVER:-$ROOT/.tools/venv-aws/bin/moto_server}"
BENCH="$TARGET/$DIR/examples/shard_bench"
if [ "$#" -gt 0 ]; then
  exec timeout 1200 "$BENCH" "$@"
fi
# The machinery unpaced (k = 1, 2, 4), then the README's default settings as
# deployed: k = 2 consumers sharing the 5,000 posts/s budget.
timeout 1200 "$BENCH" --connections 10000,100000 --consumers 1,2,4 --plan-connections 2000
echo
echo "README defaults (MCP_PROMPTS_POST_BUDGET=5000, MCP_PROMPTS_POST_CONSUMERS=2):"
exec timeout 600 "$BENCH" --connections 100000 --consumers 2 --budget 5000 --no-reference --plan-connections 0
