#!/bin/sh
# CI's lint of the ecsguard daemon's own task definitions (deploy/), whatever files are
# there when the test runs.
#   deploy_lint.sh ECSGUARD SOURCE_DIR allowed  -> passes with deploy/lint-allow.yaml
#   deploy_lint.sh ECSGUARD SOURCE_DIR bare     -> every definition fails without it
set -u
bin=$1 src=$2 mode=$3
cd "$src" || exit 2
set -- deploy/ecs/*.json deploy/cloudformation/*.yaml
for f in "$@"; do
    [ -e "$f" ] || { echo "no files match $f"; exit 1; }
done
defs=$("$bin" lint --format json "$@" | python3 -c '
import json, sys
print(sum(len(f["taskDefinitions"]) for f in json.load(sys.stdin)["files"]))')
[ "$defs" -ge 1 ] || { echo "no task definitions found in deploy/"; exit 1; }

case $mode in
allowed)
    "$bin" lint --allow deploy/lint-allow.yaml "$@"
    rc=$?
    [ $rc -eq 0 ] || { echo "FAIL: lint with deploy/lint-allow.yaml exited $rc, expected 0"; exit 1; }
    # The JSON form agrees, and every exception it used has its reason.
    "$bin" lint --format json --allow deploy/lint-allow.yaml "$@" | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["exitStatus"] == 0, d["summary"]
assert d["summary"]["allowed"] > 0, d["summary"]
for f in d["files"]:
    for td in f["taskDefinitions"]:
        for r in td["results"]:
            assert r["status"] == "allowed" and r["reason"], r
print("json: %d definitions, %d results allowed" % (d["summary"]["taskDefinitions"], d["summary"]["allowed"]))
' || exit 1
    ;;
bare)
    out=$("$bin" lint "$@")
    rc=$?
    echo "$out"
    [ $rc -eq 1 ] || { echo "FAIL: lint without the allow file exited $rc, expected 1"; exit 1; }
    # Every definition fails, and the daemon's deliberate exceptions are among the failures.
    failing=$(echo "$out" | grep -v '^ecsguard lint:' | grep -c ': [1-9][0-9]* failed, ')
    [ "$failing" -eq "$defs" ] || { echo "FAIL: $failing of $defs definitions failed"; exit 1; }
    # ECS.3 everywhere; ECS.4 in every definition but the unprivileged variants, which pass it.
    n=$(echo "$out" | grep -c " ECS.3 high ")
    [ "$n" -ge "$defs" ] || { echo "FAIL: ECS.3 reported $n times for $defs definitions"; exit 1; }
    unprivileged=$(ls deploy/ecs/*unprivileged*.json 2>/dev/null | wc -l)
    n=$(echo "$out" | grep -c " ECS.4 high ")
    [ "$n" -ge $((defs - unprivileged)) ] ||
        { echo "FAIL: ECS.4 reported $n times for $((defs - unprivileged)) privileged definitions"; exit 1; }
    if echo "$out" | grep -q "unprivileged[^ ]*: ECS.4 "; then
        echo "FAIL: an unprivileged variant fails ECS.4"; exit 1
    fi
    ;;
*)
    echo "usage: deploy_lint.sh ECSGUARD SOURCE_DIR allowed|bare"; exit 2 ;;
esac
