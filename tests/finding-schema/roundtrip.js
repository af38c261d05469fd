'use strict';
/*
 * Feeds finding lines to the v3 SDK's own GetFindings deserializer, as the body of a mocked HTTP
 * response (no network: the client's request handler answers), and compares what comes out with
 * the lines' model members (member names, timestamps as Dates). Anything the model knows that
 * the SDK does not return, or returns changed, is a problem; extensions are dropped by design.
 */
const { Readable } = require('stream');
const { GuardDutyClient, GetFindingsCommand } = require('@aws-sdk/client-guardduty');
const { HttpResponse } = require('@smithy/core/protocols');
const model = require('./model');

/* The SDK's view of `v` under `node`: model members only, by member name. */
function project(v, node) {
    switch (node.kind) {
    case 'structure': {
        const out = {};
        for (const [wire, item] of Object.entries(v)) {
            const m = node.members.get(wire);
            if (m)
                out[m.memberName] = project(item, m.node());
        }
        return out;
    }
    case 'list':
        return v.map((item) => project(item, node.member()));
    case 'map':
        return Object.fromEntries(Object.entries(v).map(([k, item]) => [k, project(item, node.value())]));
    case 'timestamp':
        return typeof v === 'number' ? new Date(Math.round(v * 1000)) : new Date(v);
    default:
        return v;
    }
}

function diff(expected, actual, at, out) {
    if (expected instanceof Date) {
        if (!(actual instanceof Date) || actual.getTime() !== expected.getTime())
            out.push(`${at}: expected ${expected.toISOString()}, SDK gave ${String(actual)}`);
        return;
    }
    if (Array.isArray(expected)) {
        if (!Array.isArray(actual) || actual.length !== expected.length) {
            out.push(`${at}: expected a list of ${expected.length}, SDK gave ${JSON.stringify(actual)}`);
            return;
        }
        expected.forEach((e, i) => diff(e, actual[i], `${at}[${i}]`, out));
        return;
    }
    if (expected && typeof expected === 'object') {
        if (!actual || typeof actual !== 'object') {
            out.push(`${at}: expected an object, SDK gave ${JSON.stringify(actual)}`);
            return;
        }
        const keys = new Set([...Object.keys(expected),
                              ...Object.keys(actual).filter((k) => actual[k] !== undefined)]);
        for (const k of keys) {
            if (!(k in expected))
                out.push(`${at}.${k}: SDK returned a member the line does not have`);
            else
                diff(expected[k], actual[k], `${at}.${k}`, out);
        }
        return;
    }
    if (expected !== actual)
        out.push(`${at}: expected ${JSON.stringify(expected)}, SDK gave ${JSON.stringify(actual)}`);
}

/* The SDK's Findings for a GetFindings response whose body is `body` (a string). */
async function deserialize(body) {
    const client = new GuardDutyClient({
        region: 'us-west-2',
        credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'not-a-secret' },
        maxAttempts: 1,
        requestHandler: {
            handle: async () => ({
                response: new HttpResponse({
                    statusCode: 200,
                    headers: { 'content-type': 'application/json' },
                    body: Readable.from([Buffer.from(body)]),
                }),
            }),
        },
    });
    try {
        const out = await client.send(new GetFindingsCommand({
            DetectorId: '12abc34d567e8fa901bc2d34e56789f0',
            FindingIds: ['0'],
        }));
        return out.Findings;
    } finally {
        client.destroy();
    }
}

/* Problems (strings) of one batch of parsed findings; [] when the SDK returns them intact. */
async function roundTrip(findings) {
    let got;
    try {
        got = await deserialize(JSON.stringify({ findings }));
    } catch (e) {
        return [`GetFindings rejected the batch: ${e.message}`];
    }
    const node = model.finding();
    const expected = findings.map((f) => project(f, node));
    const out = [];
    diff(expected, got, 'findings', out);
    return out;
}

module.exports = { roundTrip, deserialize, project, diff };
