#!/bin/sh
# `ecsguard lint` as a user runs it: the worked example of docs/posture.md line for line
# (tests/fixtures/lint/web*.json), and the exit statuses 0, 1 and 2.
#   cli_lint.sh ECSGUARD FIXTURES_DIR
set -u
bin=$1
cd "$2/lint" || exit 2
fail() { echo "FAIL: $*"; exit 1; }

out=$("$bin" lint web.json); rc=$?
[ $rc -eq 1 ] || fail "web.json exited $rc, expected 1"
expected='web.json:5:5: ECS.5 high container '"'app'"' has a writable root filesystem (readonlyRootFilesystem not set)
web.json:5:5: ECS.9 high container '"'app'"' has no logConfiguration
web.json:5:5: EG.USER medium container '"'app'"' sets no user: it runs as the image'"'"'s user, root unless the image says otherwise
web.json:8:7: ECS.4 high container '"'app'"' is privileged (privileged: true): every capability, every device, no seccomp or LSM confinement
web.json:10:11: ECS.8 high container '"'app'"' passes AWS_ACCESS_KEY_ID as a plain environment variable; use '"'secrets'"' (Secrets Manager or SSM Parameter Store)
web.json:13:7: EG.INIT low container '"'app'"' has no init process (linuxParameters.initProcessEnabled not set): the entrypoint is PID 1, so orphans are not reaped and signals not forwarded
web.json: task definition '"'web'"' (register-input): 6 failed, 0 unknown, 0 allowed
ecsguard lint: 1 task definition in 1 file: 6 failed, 0 unknown, 0 allowed, 0 stale allow entries, 0 unreadable files'
[ "$out" = "$expected" ] || { echo "$out"; fail "web.json output differs from docs/posture.md"; }

"$bin" lint --allow web-allow.yaml web-fixed.json; rc=$?
[ $rc -eq 0 ] || fail "web-fixed.json with its allow file exited $rc, expected 0"
"$bin" lint web-fixed.json | grep -q '^web-fixed.json:[0-9]*:[0-9]*: EG.CAP_ADD high container .app. adds capability NET_ADMIN (power over the host or other tasks)$' ||
    fail "web-fixed.json without its allow file: no EG.CAP_ADD line for NET_ADMIN"

"$bin" lint duplicate-key.json 2>err.$$ >/dev/null; rc=$?
err=$(cat err.$$); rm -f err.$$
[ $rc -eq 2 ] || fail "duplicate-key.json exited $rc, expected 2"
echo "$err" | grep -q "^duplicate-key.json:1:15: error: key 'family' repeats" || fail "no positioned error: $err"

"$bin" lint --allow allow-unknown-control.yaml web.json >/dev/null 2>&1; rc=$?
[ $rc -eq 2 ] || fail "an invalid allow file exited $rc, expected 2"
"$bin" lint does-not-exist.json web.json >/dev/null 2>&1; rc=$?
[ $rc -eq 2 ] || fail "an unreadable file exited $rc, expected 2"
echo ok
