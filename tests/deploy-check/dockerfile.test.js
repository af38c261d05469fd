'use strict';
/*
 * unit.deploy_dockerfile (`node --test dockerfile.test.js`, ECSGUARD_BIN = the built agent):
 * deploy/Dockerfile without a container engine (none runs here or in CI). What it does run:
 * the build stage's configure step, exactly as written in the Dockerfile but into a scratch
 * directory, then lists the targets it configured (`make help`), to show that the build stage
 * needs no test dependency and configures no test or benchmark. What it checks statically:
 * the base image argument, no syntax directive, the OCI labels, the COPY sources, the
 * .dockerignore, and the runtime stage's packages against the libraries the built agent links
 * (ELF NEEDED entries -> files -> Debian packages, with dpkg). It does not run apt-get or build
 * the image; the compile itself is the same as the project build's `ecsguard` target.
 */
const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { execFileSync } = require('child_process');

const ROOT = path.resolve(__dirname, '..', '..');
const DOCKERFILE = fs.readFileSync(path.join(ROOT, 'deploy', 'Dockerfile'), 'utf8');
/* Instructions with continuation lines joined. */
const INSTR = DOCKERFILE.replace(/\\\n/g, ' ').split('\n').filter((l) => l.trim() && !l.startsWith('#'));
const stages = [];
for (const l of INSTR) {
    if (/^FROM /.test(l))
        stages.push([]);
    if (stages.length)
        stages[stages.length - 1].push(l);
}
const aptPackages = (stage) => {
    const run = stage.find((l) => /apt-get install/.test(l));
    const m = /apt-get install -y --no-install-recommends\s+([^&]+)/.exec(run);
    return m[1].trim().split(/\s+/);
};

test('the base image is an argument (a digest can be passed), used by both stages; no syntax directive', () => {
    assert.doesNotMatch(DOCKERFILE, /^#\s*syntax\s*=/m);
    assert.match(INSTR[0], /^ARG DEBIAN_IMAGE=debian:bookworm$/);
    assert.strictEqual(stages.length, 2);
    assert.match(stages[0][0], /^FROM \$\{DEBIAN_IMAGE\} AS build$/);
    assert.match(stages[1][0], /^FROM \$\{DEBIAN_IMAGE\}$/);
});

test('the image carries OCI labels', () => {
    const labels = stages[1].filter((l) => /^LABEL /.test(l)).join(' ');
    for (const k of ['title', 'description', 'version', 'revision', 'licenses', 'base.name'])
        assert.match(labels, new RegExp(`org\\.opencontainers\\.image\\.${k.replace('.', '\\.')}=`), k);
});

test('the build stage configures without tests and builds the agent target only', () => {
    const run = stages[0].find((l) => /cmake -S/.test(l));
    const configure = /cmake -S \. -B build ([^&]*)&&/.exec(run);
    assert.ok(configure, run);
    assert.match(run, /cmake --build build --target ecsguard /);
    assert.ok(!aptPackages(stages[0]).some((p) => /cmocka|python/.test(p)), 'no test dependency installed');
    const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'eg-dockerfile-'));
    try {
        const args = configure[1].trim().split(/\s+/);
        execFileSync('cmake', ['-S', ROOT, '-B', scratch, ...args], { stdio: 'pipe' });
        const cache = fs.readFileSync(path.join(scratch, 'CMakeCache.txt'), 'utf8');
        assert.doesNotMatch(cache, /^CMOCKA_/m, 'cmocka looked up');
        assert.doesNotMatch(cache, /^PYTHON3:/m, 'python3 looked up');
        /* Every target the configured tree has (`make help`): the agent's, none of a test's. */
        const targets = execFileSync('make', ['help'], { cwd: scratch, encoding: 'utf8' });
        assert.match(targets, /^\.\.\. ecsguard$/m);
        for (const t of ['egprobe', 'test_emf', 'test_options', 'ecsguard_flood', 'ecsguard_pipeline_bench'])
            assert.doesNotMatch(targets, new RegExp(`^\\.\\.\\. ${t}$`, 'm'), `${t} is configured`);
    } finally {
        fs.rmSync(scratch, { recursive: true, force: true });
    }
});

test('COPY sources exist and the .dockerignore keeps build trees and .git out', () => {
    assert.ok(stages[1].includes('COPY --from=build /src/build/ecsguard /usr/local/bin/ecsguard'));
    assert.ok(fs.existsSync(path.join(ROOT, 'policy', 'default.yaml')));
    const ignore = fs.readFileSync(path.join(ROOT, 'deploy', 'Dockerfile.dockerignore'), 'utf8').split('\n');
    for (const p of ['.git', 'build', 'build-*'])
        assert.ok(ignore.includes(p), p);
});

test('the runtime stage installs the packages of exactly the libraries the agent links', () => {
    const bin = process.env.ECSGUARD_BIN;
    assert.ok(bin && fs.existsSync(bin), 'ECSGUARD_BIN: the built agent');
    const needed = [...execFileSync('readelf', ['-d', bin], { encoding: 'utf8' }).matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)]
        .map((m) => m[1]);
    const cache = execFileSync('ldconfig', ['-p'], { encoding: 'utf8' });
    const packages = new Set();
    for (const so of needed) {
        /* The first existing file of that name (a multiarch host lists one per architecture,
         * owned by the same package name, "pkg:arch" cut at the colon below). */
        const file = cache.split('\n').filter((l) => l.trim().startsWith(so + ' '))
            .map((l) => l.split('=> ')[1].trim()).find((f) => fs.existsSync(f));
        assert.ok(file, `${so} is not in the linker cache`);
        const real = fs.realpathSync(file);
        let owner = null;
        for (const candidate of [real, real.replace(/^\/usr\/lib\//, '/lib/'), file, file.replace(/^\/lib\//, '/usr/lib/')]) {
            try {
                owner = execFileSync('dpkg', ['-S', candidate], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split(':')[0];
                break;
            } catch (e) { /* next spelling of the path (merged /usr) */ }
        }
        assert.ok(owner, `no Debian package owns ${file}`);
        packages.add(owner);
    }
    packages.delete('libc6'); /* in the base image */
    /* ECSGUARD_BIN may be the sanitizer build (CI runs this test in both): its runtimes are no
     * part of the image, which builds the release agent. */
    for (const p of [...packages])
        if (/^lib(asan|ubsan|lsan|tsan)\d*$/.test(p))
            packages.delete(p);
    const installed = aptPackages(stages[1]).filter((p) => p !== 'ca-certificates');
    /* A library the agent links that apt brings in with an installed package (libelf1 with
     * libbpf1; the sanitizer build links it directly) need not be listed. */
    const dependsOf = (pkg) => execFileSync('dpkg-query', ['-W', '-f=${Depends}', pkg], { encoding: 'utf8' })
        .split(/[,|]/).map((d) => d.trim().split(/[\s:(]/)[0]).filter(Boolean);
    const broughtIn = new Set(installed.flatMap(dependsOf));
    for (const p of [...packages])
        if (!installed.includes(p) && broughtIn.has(p))
            packages.delete(p);
    assert.deepStrictEqual([...packages].sort(), installed.slice().sort());
});
