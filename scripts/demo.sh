#!/usr/bin/env bash
# Sets everything up and runs ecsguard on this machine without ECS: a local ECS
# introspection endpoint, the agent, and two runc "tasks" in ECS cgroup layouts that
# use capabilities. Prints the findings the agent emits.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
    echo "demo.sh: run as root (ecsguard loads BPF programs; the demo starts containers)" >&2
    exit 1
fi
./scripts/install-deps.sh
cmake -S . -B build >/dev/null
cmake --build build -j"$(nproc)" --target ecsguard egprobe
export ECSGUARD_BIN="$PWD/build/ecsguard"
export ECSGUARD_BUILD_DIR="$PWD/build"
export ECSGUARD_EGPROBE="$PWD/build/tests/helpers/egprobe"
exec python3 scripts/demo.py "$@"
