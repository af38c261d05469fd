#!/usr/bin/env bash
# Host preparation that the tests and the demo need at run time (idempotent):
# - tracefs at /sys/kernel/tracing: libbpf resolves syscall tracepoint ids there.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
    echo "host-prep.sh: must run as root" >&2
    exit 1
fi

if ! mountpoint -q /sys/kernel/tracing; then
    mount -t tracefs tracefs /sys/kernel/tracing
    echo "host-prep.sh: mounted tracefs at /sys/kernel/tracing"
fi
if [ ! -e /sys/kernel/tracing/events/syscalls ]; then
    echo "host-prep.sh: warning: no syscall tracepoints under /sys/kernel/tracing/events" >&2
fi
