'use strict';
/*
 * The schema check must be able to fail: each broken line below is a real corpus line with one
 * defect, and the check must name it. Also: the round trip rejects what the SDK rejects, the
 * allow-list and docs/findings.md list the same extensions, and the serializer's list of
 * RuntimeContext members (agent/pipeline/guardduty_model.c) is the model's.
 */
const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const path = require('path');
const { checkFinding } = require('./check');
const roundtrip = require('./roundtrip');
const model = require('./model');
const EXTENSIONS = require('./extensions');

const ROOT = path.join(__dirname, '..', '..');
const CORPUS = fs.readFileSync(path.join(ROOT, 'tests', 'fixtures', 'findings', 'corpus.jsonl'), 'utf8')
                   .split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l));

function ofType(suffix) {
    const f = CORPUS.find((x) => x.type.endsWith(suffix));
    assert.ok(f, `the corpus has a ${suffix} line`);
    return JSON.parse(JSON.stringify(f));
}

function assertFails(f, pattern) {
    const errors = checkFinding(f);
    assert.ok(errors.some((e) => pattern.test(e)), `expected ${pattern}, got ${JSON.stringify(errors)}`);
}

function setExtra(f, fn) {
    const extra = JSON.parse(f.service.additionalInfo.value);
    fn(extra);
    f.service.additionalInfo.value = JSON.stringify(extra);
}

// The corpus is what the unit tests check the shape with: a type missing from it is checked only
// when the integration tests run. Every type the agent can emit (policy/finding_types.c) has a line.
test('the corpus has a line of every finding type', () => {
    const table = fs.readFileSync(path.join(ROOT, 'policy', 'finding_types.c'), 'utf8');
    const types = [...table.matchAll(/"([A-Za-z]+:Runtime\/[A-Za-z.]+)"/g)].map((m) => m[1]);
    assert.ok(types.length >= 20, `read ${types.length} types from policy/finding_types.c`);
    const present = new Set(CORPUS.map((f) => f.type));
    assert.deepStrictEqual(types.filter((t) => !present.has(t)), []);
});

test('every corpus line passes', () => {
    for (const f of CORPUS)
        assert.deepStrictEqual(checkFinding(f), [], f.id);
});

test('a timestamp member written as an ISO string fails', () => {
    const f = ofType('/NewBinaryExecuted');
    f.service.runtimeDetails.context.modifiedAt = '2026-11-23T19:45:41.580Z';
    assertFails(f, /^service\.runtimeDetails\.context\.modifiedAt: string where the model has a timestamp/);
});

test('a misspelled model member fails', () => {
    const f = ofType('/SysAdminCapabilityUsed');
    const p = f.service.runtimeDetails.process;
    p.exectuablePath = p.executablePath;
    delete p.executablePath;
    assertFails(f, /^service\.runtimeDetails\.process\.exectuablePath: not in the model \(ProcessDetails\)/);
});

test('an extension inside a model structure fails unless allowed', () => {
    const f = ofType('/ProcessInjection.Ptrace');
    f.service.runtimeDetails.context.targetProcess.hostProcess = true;
    assertFails(f, /^service\.runtimeDetails\.context\.targetProcess\.hostProcess: not in the model/);
    const g = ofType('/NewLibraryLoaded');
    g.service.runtimeDetails.context.modifyingProcess.uid = 0;
    assertFails(g, /modifyingProcess\.uid: not in the model \(ProcessDetails\)/);
    const h = ofType('/SysAdminCapabilityUsed');
    h.resource.ecsClusterDetails.taskDetails.family = 'web';
    assertFails(h, /taskDetails\.family: not in the model \(EcsTaskDetails\)/);
});

test('a missing required member fails', () => {
    const f = ofType('/CapabilityDenied');
    delete f.accountId;
    assertFails(f, /^accountId: required by the model \(Finding\.AccountId\), missing/);
});

test('wrong JSON types fail', () => {
    const cases = [
        [(f) => { f.severity = '5.0'; }, /^severity: string where the model has a number|^severity: string where the model has a double/],
        [(f) => { f.service.runtimeDetails.process.pid = 1.5; }, /process\.pid: a fraction where the model has an integer/],
        [(f) => { f.service.count = null; }, /^service\.count: null/],
        [(f) => { f.service.runtimeDetails.process.lineage = {}; }, /lineage: object where the model has a list/],
        [(f) => { f.service.runtimeDetails.context.capabilityGranted = 'true'; }, /capabilityGranted: extension of type boolean, got string/],
        [(f) => { f.service.runtimeDetails.process.executablePath = ''; }, /executablePath: empty string in an optional member/],
    ];
    for (const [mutate, pattern] of cases) {
        const f = ofType('/SysAdminCapabilityUsed');
        mutate(f);
        assertFails(f, pattern);
    }
});

test('additionalInfo must be the documented JSON and copy the context extensions', () => {
    let f = ofType('/SysAdminCapabilityUsed');
    f.service.additionalInfo.value = 'agentVersion=0.1.0';
    assertFails(f, /^service\.additionalInfo\.value: not JSON/);
    f = ofType('/SysAdminCapabilityUsed');
    setExtra(f, (x) => { x.taskid = x.taskId; });
    assertFails(f, /^service\.additionalInfo\.value\.taskid: not a listed additionalInfo member/);
    f = ofType('/SysAdminCapabilityUsed');
    setExtra(f, (x) => { delete x.context.capabilityName; });
    assertFails(f, /value\.context\.capabilityName: missing: service\.runtimeDetails\.context\.capabilityName is an extension/);
    f = ofType('/SysAdminCapabilityUsed');
    setExtra(f, (x) => { x.context.capabilityGranted = !x.context.capabilityGranted; });
    assertFails(f, /value\.context\.capabilityGranted: differs/);
    f = ofType('/SysAdminCapabilityUsed');
    setExtra(f, (x) => { x.context.commandLineExample = 'x'; });
    assertFails(f, /value\.context\.commandLineExample: not an extension member/);
});

test('an unknown account or region is "", never a placeholder', () => {
    const f = ofType('/CapabilityDenied');
    f.accountId = 'unknown';
    f.region = 'unknown';
    assertFails(f, /^accountId: "unknown": not an account id/);
    assertFails(f, /^region: "unknown": not a region name/);
    const unresolved = CORPUS.find((x) => x.accountId === '');
    assert.ok(unresolved, 'the corpus has a line whose account is unknown');
    assert.deepStrictEqual(checkFinding(unresolved), []);
});

test('the round trip keeps every model member and rejects what the SDK rejects', async () => {
    assert.deepStrictEqual(await roundtrip.roundTrip(CORPUS), []);
    const broken = ofType('/NewBinaryExecuted');
    broken.service.runtimeDetails.context.modifiedAt = '2026-11-23T19:45:41.580Z';
    const problems = await roundtrip.roundTrip([ofType('/SysAdminCapabilityUsed'), broken]);
    assert.match(problems.join('\n'), /GetFindings rejected the batch: Expected real number/);
});

test('the round trip comparison names a lost or changed member', () => {
    const out = [];
    roundtrip.diff({ A: 1, B: { C: new Date(1000) }, D: ['x'] },
                   { A: 2, B: { C: new Date(2000) }, E: 3 }, 'f', out);
    assert.deepStrictEqual(out.map((p) => p.split(':')[0]).sort(), ['f.A', 'f.B.C', 'f.D', 'f.E']);
});

test('the v2 and v3 models agree on every structure a corpus line reaches', () => {
    for (const wirePath of ['', 'resource', 'resource.ecsClusterDetails',
                            'resource.ecsClusterDetails.taskDetails',
                            'resource.ecsClusterDetails.taskDetails.containers[]',
                            'service', 'service.runtimeDetails', 'service.runtimeDetails.process',
                            'service.runtimeDetails.process.lineage[]',
                            'service.runtimeDetails.context', 'service.additionalInfo']) {
        const node = wirePath ? model.at(wirePath) : model.finding();
        assert.ok(node && node.kind === 'structure', wirePath);
        assert.deepStrictEqual(model.crossCheck(node), [], wirePath);
    }
    /* Integer and double are told apart (from the v2 model). */
    assert.strictEqual(model.at('service.runtimeDetails.process.pid').kind, 'integer');
    assert.strictEqual(model.at('severity').kind, 'double');
});

test('the serializer knows exactly the model\'s RuntimeContext members', () => {
    const src = fs.readFileSync(path.join(ROOT, 'agent', 'pipeline', 'guardduty_model.c'), 'utf8');
    const list = src.slice(src.indexOf('runtime_context[] = {'), src.indexOf('};', src.indexOf('runtime_context[] = {')));
    const inC = [...list.matchAll(/"([A-Za-z0-9]+)"/g)].map((m) => m[1]);
    const inModel = [...model.at('service.runtimeDetails.context').members.keys()];
    assert.deepStrictEqual(inC.slice().sort(), inModel.slice().sort());
    assert.deepStrictEqual(inC, inC.slice().sort(), 'sorted, for bsearch');
});

test('docs/findings.md lists exactly the allowed extensions, with their types', () => {
    const doc = fs.readFileSync(path.join(ROOT, 'docs', 'findings.md'), 'utf8');
    const rows = new Map();
    for (const line of doc.split('\n')) {
        const m = line.match(/^\|\s*`([^`]+)`\s*\|\s*extension\s*\|\s*([^|]+?)\s*\|/);
        if (m)
            rows.set(m[1], m[2].replace(/`/g, ''));
    }
    assert.deepStrictEqual([...rows.keys()].sort(), Object.keys(EXTENSIONS).sort());
    for (const [p, t] of rows)
        assert.strictEqual(t, EXTENSIONS[p], p);
    /* Every "model" row names a real model member. */
    for (const line of doc.split('\n')) {
        const m = line.match(/^\|\s*`([^`]+)`\s*\|\s*model\s*\|/);
        if (m)
            assert.ok(model.at(m[1]), `docs/findings.md: ${m[1]} is not in the model`);
    }
});
