'use strict';
/*
 * GuardDuty's Finding shape, read from the AWS SDK packages pinned in package-lock.json.
 *
 * The v3 client (@aws-sdk/client-guardduty) is the model of record: it is the newer of the two
 * (it has taskDetails.launchType and context.filePath, fileOperation, relatedFilePaths, which the
 * v2 model lacks) and its deserializer is the one the round trip runs. Its compact schemas do not
 * tell an integer from a double, and the slot that holds the number of required members of a
 * structure is not documented; the v2 package's plain JSON model (aws-sdk,
 * apis/guardduty-2017-11-28.min.json) says both. Every structure a checked line reaches is read
 * from both models and compared (crossCheck), so a misreading of either is a test failure, not a
 * silent gap.
 *
 * A node: { kind, name, members?, member?, value?, timestampFormat? } where kind is one of
 * structure, list, map, string, boolean, integer, long, double, number (numeric, width unknown),
 * timestamp, blob, document; members maps a wire name (locationName / jsonName) to
 * { memberName, required, node() }.
 */
const path = require('path');

function sdk(name) {
    try {
        return require(name);
    } catch (e) {
        if (e.code !== 'MODULE_NOT_FOUND')
            throw e;
        console.error(`finding schema: ${name} is not installed: run \`npm ci\` in ${__dirname} ` +
                      '(scripts/test.sh does)');
        process.exit(2);
    }
}

const gd = sdk('@aws-sdk/client-guardduty');
const { NormalizedSchema } = sdk('@smithy/core/schema');

sdk('aws-sdk/package.json');
const V2_MODEL = require(path.join(path.dirname(require.resolve('aws-sdk/package.json')), 'apis',
                                   'guardduty-2017-11-28.min.json'));

/* Smithy's static schema ids for timestamps (sentinels in @smithy/types). */
const TIMESTAMP_FORMATS = { 4: 'epoch-seconds', 5: 'date-time', 6: 'http-date', 7: 'epoch-seconds' };

function v2Resolve(shape) {
    let s = shape;
    while (s && s.shape) {
        const merged = Object.assign({}, V2_MODEL.shapes[s.shape]);
        for (const k of Object.keys(s))
            if (k !== 'shape')
                merged[k] = s[k];
        s = merged;
    }
    return s;
}

function v2Kind(shape) {
    const s = v2Resolve(shape);
    return s ? s.type || 'string' : undefined;
}

/* The required-member count: the 7th slot of a StaticStructureSchema (the first N members). */
function requiredCount(ns) {
    const raw = ns.getSchema();
    return Array.isArray(raw) && typeof raw[6] === 'number' ? raw[6] : 0;
}

function kindOf(ns, v2) {
    if (ns.isStructSchema() || ns.isUnionSchema())
        return 'structure';
    if (ns.isListSchema())
        return 'list';
    if (ns.isMapSchema())
        return 'map';
    if (ns.isTimestampSchema())
        return 'timestamp';
    if (ns.isBooleanSchema())
        return 'boolean';
    if (ns.isBlobSchema())
        return 'blob';
    if (ns.isDocumentSchema())
        return 'document';
    if (ns.isNumericSchema() || ns.isBigIntegerSchema() || ns.isBigDecimalSchema()) {
        const k = v2Kind(v2);
        return k === 'integer' || k === 'long' || k === 'double' || k === 'float' ? k : 'number';
    }
    return 'string';
}

const crossChecked = new Map(); /* structure name -> [problems] */

function makeNode(ns, v2) {
    const kind = kindOf(ns, v2);
    const node = { kind, name: ns.getName() };
    if (kind === 'timestamp') {
        const id = typeof ns.getSchema() === 'number' ? ns.getSchema() : 4;
        node.timestampFormat = ns.getMergedTraits().timestampFormat || TIMESTAMP_FORMATS[id] ||
                               'epoch-seconds';
    } else if (kind === 'structure') {
        const v2s = v2Resolve(v2);
        const required = requiredCount(ns);
        node.members = new Map();
        node.v2Members = v2s ? v2s.members || {} : null;
        node.v2Required = v2s ? v2s.required || [] : null;
        let i = 0;
        for (const [memberName, m] of ns.structIterator()) {
            const wire = m.getMergedTraits().jsonName || memberName;
            const v2m = v2s && v2s.members ? v2s.members[memberName] : undefined;
            let cached;
            node.members.set(wire, {
                memberName,
                required: i < required,
                v2: v2m,
                ns: m,
                node: () => cached || (cached = makeNode(m, v2m)),
            });
            i++;
        }
    } else if (kind === 'list') {
        const v2s = v2Resolve(v2);
        let cached;
        node.member = () => cached || (cached = makeNode(ns.getValueSchema(), v2s && v2s.member));
    } else if (kind === 'map') {
        const v2s = v2Resolve(v2);
        let cached;
        node.value = () => cached || (cached = makeNode(ns.getValueSchema(), v2s && v2s.value));
    }
    return node;
}

/*
 * Where the two models disagree about a structure both know: a wire name, a member's kind, the
 * required members. Members only the v3 model has are expected (it is newer); a member only the
 * v2 model has would mean the v3 reading misses something.
 */
function crossCheck(node) {
    if (node.kind !== 'structure' || !node.v2Members)
        return [];
    if (crossChecked.has(node.name))
        return crossChecked.get(node.name);
    const problems = [];
    const v3ByName = new Map();
    for (const [wire, m] of node.members)
        v3ByName.set(m.memberName, { wire, m });
    for (const [memberName, v2m] of Object.entries(node.v2Members)) {
        const v3 = v3ByName.get(memberName);
        if (!v3) {
            problems.push(`${node.name}.${memberName}: in the v2 model, not in the v3 schema`);
            continue;
        }
        const v2wire = v2m.locationName || memberName;
        if (v2wire !== v3.wire)
            problems.push(`${node.name}.${memberName}: wire name v2 ${v2wire}, v3 ${v3.wire}`);
        const k2 = v2Kind(v2m);
        let k3 = v3.m.node().kind;
        const numeric = ['integer', 'long', 'double', 'float', 'number'];
        if (numeric.includes(k2) && numeric.includes(k3))
            k3 = k2;
        if (k2 !== k3)
            problems.push(`${node.name}.${memberName}: kind v2 ${k2}, v3 ${k3}`);
    }
    const v3Required = [...node.members.values()].filter((m) => m.required).map((m) => m.memberName);
    const v2Required = node.v2Required.slice();
    if (v3Required.slice().sort().join() !== v2Required.sort().join())
        problems.push(`${node.name}: required members v2 [${v2Required}], v3 [${v3Required}]`);
    crossChecked.set(node.name, problems);
    return problems;
}

let findingNode;

/* The Finding structure, as GetFindings returns each element of `findings`. */
function finding() {
    if (!findingNode) {
        const v2 = V2_MODEL.operations.GetFindings.output.members.Findings.member;
        findingNode = makeNode(NormalizedSchema.of(gd.Finding$), v2);
    }
    return findingNode;
}

/* The node at a dotted wire path ("service.runtimeDetails.process.lineage[].name"), or null. */
function at(wirePath) {
    let node = finding();
    for (const part of wirePath.split('.')) {
        const list = part.endsWith('[]');
        const name = list ? part.slice(0, -2) : part;
        if (node.kind !== 'structure' || !node.members.has(name))
            return null;
        node = node.members.get(name).node();
        if (list) {
            if (node.kind !== 'list')
                return null;
            node = node.member();
        }
    }
    return node;
}

function versions() {
    return {
        v3: require('@aws-sdk/client-guardduty/package.json').version,
        v2: require('aws-sdk/package.json').version,
    };
}

module.exports = { finding, at, crossCheck, versions };
