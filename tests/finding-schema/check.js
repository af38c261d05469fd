'use strict';
/*
 * Checks ecsguard finding lines against GuardDuty's Finding model (model.js), by wire name,
 * through every structure, list and map a line has:
 *   - a member of the wrong JSON type (a timestamp as a string, a string where the model has a
 *     number, a fraction in an integer member, null anywhere) fails;
 *   - a required member that is missing fails, and so does an optional string member that is
 *     "" (ecsguard leaves an optional member out when it does not know the value);
 *   - a member the model lacks fails unless extensions.js lists its path with that type;
 *   - service.additionalInfo.value must hold a JSON object whose members extensions.js lists,
 *     and its `context` must copy exactly the line's context extensions;
 *   - accountId and region are an account id / region name, or "" when the agent does not know
 *     them (never a placeholder word).
 *
 * Usage: node check.js [--roundtrip] [--allow-empty] FILE...   (JSON lines; exit 1 on a failure)
 *   --roundtrip    also feed the lines to the v3 SDK's GetFindings deserializer (roundtrip.js)
 *   --allow-empty  a missing or empty file is not a failure (a run that emitted no finding)
 */
const fs = require('fs');
const model = require('./model');
const EXTENSIONS = require('./extensions');

const ADDITIONAL_INFO = 'service.additionalInfo.value';
const CONTEXT = 'service.runtimeDetails.context';

function jsonType(v) {
    if (v === null)
        return 'null';
    if (Array.isArray(v))
        return 'array';
    return typeof v;
}

/* Does `v` have the allow-list type `t`? */
function extensionTypeOk(t, v) {
    switch (t) {
    case 'string':
        return typeof v === 'string';
    case 'boolean':
        return typeof v === 'boolean';
    case 'integer':
        return Number.isSafeInteger(v);
    case 'number':
        return typeof v === 'number' && Number.isFinite(v);
    case 'string[]':
        return Array.isArray(v) && v.every((x) => typeof x === 'string');
    case 'object':
        return jsonType(v) === 'object';
    default:
        throw new Error(`extensions.js: unknown type ${t}`);
    }
}

/* Why `v` does not fit the scalar node, or null. */
function scalarProblem(node, v) {
    const t = jsonType(v);
    switch (node.kind) {
    case 'string':
        return t === 'string' ? null : `${t} where the model has a string`;
    case 'boolean':
        return t === 'boolean' ? null : `${t} where the model has a boolean`;
    case 'integer':
        if (!Number.isInteger(v))
            return `${t === 'number' ? 'a fraction' : t} where the model has an integer`;
        return v >= -2147483648 && v <= 2147483647 ? null : `${v} overflows the model's integer`;
    case 'long':
        return Number.isSafeInteger(v) ? null : `${t} where the model has a long`;
    case 'double':
    case 'float':
    case 'number':
        return t === 'number' && Number.isFinite(v) ? null : `${t} where the model has a number`;
    case 'timestamp':
        if (node.timestampFormat === 'epoch-seconds')
            return t === 'number' && Number.isFinite(v)
                       ? null
                       : `${t} where the model has a timestamp (REST-JSON: epoch seconds, a number)`;
        return t === 'string' ? null : `${t} where the model has a ${node.timestampFormat} timestamp`;
    case 'blob':
        return t === 'string' ? null : `${t} where the model has a blob (base64 string)`;
    case 'document':
        return null;
    default:
        return `unexpected model kind ${node.kind}`;
    }
}

class Checker {
    constructor() {
        this.errors = [];
    }

    fail(where, msg) {
        this.errors.push(`${where}: ${msg}`);
    }

    /* `at`: path for messages (with indexes); `key`: the same path with [] (allow-list key). */
    value(v, node, at, key) {
        if (v === null) {
            this.fail(at, 'null (leave an unknown member out)');
            return;
        }
        if (node.kind === 'structure')
            return this.structure(v, node, at, key);
        if (node.kind === 'list') {
            if (!Array.isArray(v))
                return this.fail(at, `${jsonType(v)} where the model has a list`);
            v.forEach((item, i) => this.value(item, node.member(), `${at}[${i}]`, `${key}[]`));
            return;
        }
        if (node.kind === 'map') {
            if (jsonType(v) !== 'object')
                return this.fail(at, `${jsonType(v)} where the model has a map`);
            for (const [k, item] of Object.entries(v))
                this.value(item, node.value(), `${at}{${k}}`, `${key}{}`);
            return;
        }
        const problem = scalarProblem(node, v);
        if (problem)
            this.fail(at, problem);
    }

    structure(v, node, at, key) {
        if (jsonType(v) !== 'object')
            return this.fail(at, `${jsonType(v)} where the model has a structure (${node.name})`);
        for (const p of model.crossCheck(node))
            this.fail('model', p);
        const prefix = at ? `${at}.` : '';
        const keyPrefix = key ? `${key}.` : '';
        for (const [wire, m] of node.members)
            if (m.required && !(wire in v))
                this.fail(`${prefix}${wire}`, `required by the model (${node.name}.${m.memberName}), missing`);
        for (const [wire, item] of Object.entries(v)) {
            const m = node.members.get(wire);
            if (!m) {
                this.extension(item, `${prefix}${wire}`, `${keyPrefix}${wire}`, node);
                continue;
            }
            const child = m.node();
            if (!m.required && child.kind === 'string' && item === '')
                this.fail(`${prefix}${wire}`, 'empty string in an optional member (leave it out when unknown)');
            this.value(item, child, `${prefix}${wire}`, `${keyPrefix}${wire}`);
        }
    }

    extension(v, at, key, parent) {
        const t = EXTENSIONS[key];
        if (!t) {
            this.fail(at, `not in the model (${parent.name}) nor in extensions.js`);
            return;
        }
        if (!extensionTypeOk(t, v))
            this.fail(at, `extension of type ${t}, got ${jsonType(v)}`);
    }

    additionalInfo(f) {
        const ai = f.service && f.service.additionalInfo;
        if (!ai || typeof ai.value !== 'string')
            return this.fail(ADDITIONAL_INFO, 'missing (ecsguard always writes its facts there)');
        let extra;
        try {
            extra = JSON.parse(ai.value);
        } catch (e) {
            return this.fail(ADDITIONAL_INFO, `not JSON: ${e.message}`);
        }
        if (jsonType(extra) !== 'object')
            return this.fail(ADDITIONAL_INFO, `JSON ${jsonType(extra)}, not an object`);
        for (const [k, item] of Object.entries(extra)) {
            const t = EXTENSIONS[`${ADDITIONAL_INFO}.${k}`];
            if (!t)
                this.fail(`${ADDITIONAL_INFO}.${k}`, 'not a listed additionalInfo member (extensions.js)');
            else if (item === null || !extensionTypeOk(t, item))
                this.fail(`${ADDITIONAL_INFO}.${k}`, `of type ${t}, got ${jsonType(item)}`);
        }
        /* The context members typed consumers drop, copied where they can read them. */
        const ctx = (f.service.runtimeDetails && f.service.runtimeDetails.context) || {};
        const ctxNode = model.at(CONTEXT);
        const dropped = {};
        for (const [k, item] of Object.entries(ctx))
            if (!ctxNode.members.has(k))
                dropped[k] = item;
        const copy = extra.context || {};
        for (const k of new Set([...Object.keys(dropped), ...Object.keys(copy)])) {
            if (!(k in copy))
                this.fail(`${ADDITIONAL_INFO}.context.${k}`, `missing: ${CONTEXT}.${k} is an extension`);
            else if (!(k in dropped))
                this.fail(`${ADDITIONAL_INFO}.context.${k}`, `not an extension member of ${CONTEXT}`);
            else if (JSON.stringify(copy[k]) !== JSON.stringify(dropped[k]))
                this.fail(`${ADDITIONAL_INFO}.context.${k}`, `differs from ${CONTEXT}.${k}`);
        }
    }

    identity(f) {
        if (typeof f.accountId === 'string' && !/^(\d{12})?$/.test(f.accountId))
            this.fail('accountId', `${JSON.stringify(f.accountId)}: not an account id, nor "" (unknown)`);
        if (typeof f.region === 'string' && !/^([a-z]{2}(-[a-z]+)+-\d+)?$/.test(f.region))
            this.fail('region', `${JSON.stringify(f.region)}: not a region name, nor "" (unknown)`);
    }
}

/* The problems of one finding (a parsed object or a JSON line); [] when it is fine. */
function checkFinding(lineOrObject) {
    let f = lineOrObject;
    if (typeof f === 'string') {
        try {
            f = JSON.parse(f);
        } catch (e) {
            return [`not JSON: ${e.message}`];
        }
    }
    const c = new Checker();
    c.value(f, model.finding(), '', '');
    if (jsonType(f) === 'object') {
        c.additionalInfo(f);
        c.identity(f);
    }
    return c.errors;
}

/* [{file, line, text}] of the non-blank lines of JSON-lines files. */
function readLines(files, allowEmpty) {
    const out = [];
    for (const file of files) {
        if (!fs.existsSync(file)) {
            if (allowEmpty)
                continue;
            throw new Error(`${file}: no such file`);
        }
        fs.readFileSync(file, 'utf8').split('\n').forEach((text, i) => {
            if (text.trim())
                out.push({ file, line: i + 1, text });
        });
    }
    return out;
}

async function main(argv) {
    const files = argv.filter((a) => !a.startsWith('--'));
    const roundtrip = argv.includes('--roundtrip');
    const allowEmpty = argv.includes('--allow-empty');
    const lines = readLines(files, allowEmpty);
    const v = model.versions();
    console.log(`finding schema: GuardDuty model of @aws-sdk/client-guardduty ${v.v3} ` +
                `(numeric widths and cross-check: aws-sdk ${v.v2}); ${lines.length} lines from ${files.join(', ')}`);
    if (!lines.length && !allowEmpty) {
        console.log('finding schema check failed: no finding lines');
        return 1;
    }
    let failed = 0;
    const types = new Map();
    for (const l of lines) {
        const errors = checkFinding(l.text);
        if (errors.length) {
            failed++;
            console.log(`FAIL ${l.file}:${l.line}:`);
            for (const e of errors)
                console.log(`    ${e}`);
        } else {
            const t = JSON.parse(l.text).type;
            types.set(t, (types.get(t) || 0) + 1);
        }
    }
    for (const [t, n] of [...types].sort())
        console.log(`  ok ${n} ${t}`);
    if (roundtrip && lines.length && !failed) {
        const rt = require('./roundtrip');
        const problems = await rt.roundTrip(lines.map((l) => JSON.parse(l.text)));
        if (problems.length) {
            failed += problems.length;
            console.log('FAIL round trip through GetFindings (v3 SDK):');
            for (const p of problems)
                console.log(`    ${p}`);
        } else {
            console.log(`  round trip: ${lines.length} findings through GetFindingsCommand, nothing the model knows lost`);
        }
    }
    console.log(failed ? `finding schema check failed: ${failed} line(s)` : 'finding schema check passed');
    return failed ? 1 : 0;
}

module.exports = { checkFinding, readLines };

if (require.main === module)
    main(process.argv.slice(2)).then((rc) => process.exit(rc), (e) => {
        console.error(e.stack || String(e));
        process.exit(2);
    });
