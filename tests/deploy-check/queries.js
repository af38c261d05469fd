'use strict';
/*
 * The saved Logs Insights queries of deploy/cloudformation/ecsguard.yaml, where else they are
 * written (docs/queries.md, the dashboard's log widgets), and for each one a direct computation
 * of its rows over parsed lines (the oracle) and its subject (the lines that must make it return
 * rows, and the columns that may never be empty). Also the command behind integration.deploy_queries:
 *
 *   node queries.js [--allow-missing] --findings FILE [--emf FILE]
 *
 * runs every query over the lines of FILE (and the EMF records) and compares with the oracle.
 */
const fs = require('fs');
const path = require('path');
const insights = require('./insights');
const tpl = require('./template');

const DOCS = path.join(tpl.ROOT, 'docs', 'queries.md');

function readJsonl(file) {
    return fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.trim()).map((l, i) => {
        try {
            return JSON.parse(l);
        } catch (e) {
            throw new Error(`${file}:${i + 1}: not JSON: ${e.message}`);
        }
    });
}

/* name -> query text, from the template's AWS::Logs::QueryDefinition resources. */
function templateQueries(template = tpl.load()) {
    const out = {};
    for (const r of Object.values(template.Resources))
        if (r.Type === 'AWS::Logs::QueryDefinition')
            out[r.Properties.Name] = r.Properties.QueryString.trimEnd();
    return out;
}

/* name -> query text, from the ```text block under each "## ecsguard/..." heading of the docs. */
function docQueries(file = DOCS) {
    const out = {};
    const re = /^## (ecsguard\/[\w-]+)\n[\s\S]*?^```text\n([\s\S]*?)^```/gm;
    for (const m of fs.readFileSync(file, 'utf8').matchAll(re))
        out[m[1]] = m[2].trimEnd();
    return out;
}

/* The dashboard's log widget queries, with "SOURCE '<group>' | " taken off. */
function dashboardQueries(template = tpl.load()) {
    const body = template.Resources.Dashboard.Properties.DashboardBody['Fn::Sub'];
    const json = JSON.parse(body.replace(/\$\{[^}]+\}/g, 'X'));
    return json.widgets.filter((w) => w.type === 'log').map((w) => w.properties.query.replace(/^SOURCE 'X' \| /, ''));
}

/* One line: "a\n| b\n| c" -> "a | b | c". */
function oneLine(q) {
    return q.split('\n').map((l) => l.trim()).join(' ');
}

const isFinding = (f) => f.schemaVersion === '2.0';
const get = (o, p) => p.split('.').reduce((v, k) => (v !== null && typeof v === 'object' && k in v ? v[k] : undefined), o);
const family = (f) => {
    const m = /:task-definition\/([^:]+):/.exec(get(f, 'resource.ecsClusterDetails.taskDetails.definitionArn') || '');
    return m ? m[1] : null;
};

function groupRows(lines, keyFn, aggFn) {
    const groups = new Map();
    for (const l of lines) {
        const k = JSON.stringify(keyFn(l));
        if (!groups.has(k))
            groups.set(k, []);
        groups.get(k).push(l);
    }
    return [...groups.entries()].map(([k, ls]) => Object.assign(JSON.parse(k), aggFn(ls)));
}

const distinctIds = (ls) => new Set(ls.map((l) => l.id)).size;
const maxOf = (ls, p) => {
    const v = ls.map((l) => get(l, p)).filter((x) => typeof x === 'number');
    return v.length ? Math.max(...v) : null;
};

/* The first task ARN in the lines (the task-activity query's TASK_ARN). */
function someTaskArn(lines) {
    const f = lines.find((l) => isFinding(l) && get(l, 'resource.ecsClusterDetails.taskDetails.arn'));
    return f ? get(f, 'resource.ecsClusterDetails.taskDetails.arn') : null;
}

/*
 * Per query: the oracle (rows in no particular order) and the subject. Rows use null for a
 * missing value, as the evaluator's rows do after normalise().
 */
const SPECS = {
    'ecsguard/high-findings-by-family': {
        subject: (l) => isFinding(l) && l.severity >= 7,
        required: ['type', 'findings', 'maxSeverity'],
        oracle: (lines) => groupRows(lines.filter((l) => isFinding(l) && l.severity >= 7),
                                     (l) => ({ family: family(l), type: l.type }),
                                     (ls) => ({ findings: distinctIds(ls), maxSeverity: maxOf(ls, 'severity') })),
    },
    'ecsguard/task-activity': {
        subject: (l) => isFinding(l) && !!get(l, 'resource.ecsClusterDetails.taskDetails.arn'),
        required: ['@timestamp', 'type', 'severity', 'container', 'repeats', 'id'],
        bind: (q, lines) => q.replace('TASK_ARN', someTaskArn(lines) || 'none'),
        oracle: (lines) => {
            const arn = someTaskArn(lines);
            return lines.filter((l) => isFinding(l) && arn && get(l, 'resource.ecsClusterDetails.taskDetails.arn') === arn)
                .map((l) => ({
                    '@timestamp': Date.parse(l.updatedAt), type: l.type, severity: l.severity,
                    container: get(l, 'resource.containerDetails.name') ?? null,
                    executable: get(l, 'service.runtimeDetails.process.executablePath') ?? null,
                    repeats: get(l, 'service.count') ?? null, id: l.id,
                }));
        },
    },
    'ecsguard/cap-sys-admin-executables': {
        /* By type alone: a renamed capability field then empties the query and fails it. */
        subject: (l) => l.type === 'PrivilegeEscalation:Runtime/SysAdminCapabilityUsed',
        required: ['executable', 'findings', 'maxCount'],
        oracle: (lines) => groupRows(lines.filter((l) => isFinding(l) &&
                                                  get(l, 'service.runtimeDetails.context.capabilityName') === 'CAP_SYS_ADMIN' &&
                                                  l.type !== 'Discovery:Runtime/CapabilityDenied'),
                                     (l) => ({ executable: get(l, 'service.runtimeDetails.process.executablePath') ?? null }),
                                     (ls) => ({ findings: distinctIds(ls), maxCount: maxOf(ls, 'service.count') })),
        limit: 20,
    },
    'ecsguard/rootfs-writers': {
        subject: (l) => l.type === 'Persistence:Runtime/ContainerRootFilesystemModified',
        required: ['container', 'findings', 'maxFiles'],
        oracle: (lines) => groupRows(lines.filter(SPECS['ecsguard/rootfs-writers'].subject),
                                     (l) => ({ family: family(l),
                                                container: get(l, 'resource.containerDetails.name') ??
                                                    get(l, 'resource.containerDetails.id') ?? null }),
                                     (ls) => ({ findings: distinctIds(ls),
                                                maxFiles: maxOf(ls, 'service.runtimeDetails.context.distinctFileCount') })),
    },
    'ecsguard/agent-health': {
        /* Any EMF record: a renamed counter then empties or nulls the query and fails it. */
        subject: (l) => !!l._aws,
        required: ['Host', 'eventsDropped', 'findingsDropped', 'writeFailures', 'deliveryFailed', 'spoolDropped',
                   'backlog', 'healthRecords'],
        oracle: (lines) => groupRows(lines.filter((l) => typeof l.kernel_events_dropped === 'number'),
                                     (l) => ({ Host: l.Host ?? null }),
                                     (ls) => ({
                                         eventsDropped: maxOf(ls, 'kernel_events_dropped'),
                                         findingsDropped: maxOf(ls, 'findings_dropped'),
                                         writeFailures: maxOf(ls, 'sink_write_failures'),
                                         deliveryFailed: maxOf(ls, 'cloudwatch_failed'),
                                         spoolDropped: maxOf(ls, 'cloudwatch_dropped_spool_full'),
                                         backlog: maxOf(ls, 'cloudwatch_backlog'),
                                         healthRecords: ls.length,
                                     })),
    },
};

/* Rows with every column present (null for missing), for comparison. */
function normalise(result) {
    return result.rows.map((r) => {
        const o = {};
        for (const c of result.columns)
            o[c] = r[c] === undefined ? null : r[c];
        return o;
    });
}

const canonical = (rows) => rows.map((r) => JSON.stringify(r, Object.keys(r).sort())).sort();

function runQuery(name, text, lines) {
    const spec = SPECS[name];
    return normalise(insights.run(spec.bind ? spec.bind(text, lines) : text, lines));
}

/* Logs Insights flattens at most 200 fields of a JSON event (the parse command's reference). */
function leafCount(v) {
    if (Array.isArray(v))
        return v.reduce((n, x) => n + leafCount(x), 0);
    if (v !== null && typeof v === 'object')
        return Object.values(v).reduce((n, x) => n + leafCount(x), 0);
    return 1;
}

/* Problems (strings) of every query over `lines`; [] when all agree. */
function checkAgainstOracle(lines, queries = templateQueries()) {
    const problems = [];
    for (const [name, text] of Object.entries(queries)) {
        const spec = SPECS[name];
        if (!spec) {
            problems.push(`${name}: no oracle in tests/deploy-check/queries.js`);
            continue;
        }
        let got;
        try {
            got = runQuery(name, text, lines);
        } catch (e) {
            problems.push(`${name}: ${e.message}`);
            continue;
        }
        let want = spec.oracle(lines);
        if (spec.limit && want.length > spec.limit)
            want = null; /* which rows a limit keeps among ties is not the oracle's to say */
        if (want && JSON.stringify(canonical(got)) !== JSON.stringify(canonical(want)))
            problems.push(`${name}: rows differ from the direct computation\n  query:  ${JSON.stringify(got)}\n  direct: ${JSON.stringify(want)}`);
        if (lines.some(spec.subject) && got.length === 0)
            problems.push(`${name}: the log has lines it is about, and it returned no rows`);
        for (const row of got)
            for (const c of spec.required || [])
                if (row[c] === null)
                    problems.push(`${name}: column ${c} is empty in ${JSON.stringify(row)}`);
    }
    lines.filter(isFinding).forEach((l) => {
        if (leafCount(l) > 200)
            problems.push(`finding ${l.id}: ${leafCount(l)} fields, more than the 200 Logs Insights extracts`);
    });
    return problems;
}

function main(argv) {
    const args = { findings: [], emf: [], allowMissing: false };
    for (let i = 0; i < argv.length; i++) {
        if (argv[i] === '--findings')
            args.findings.push(argv[++i]);
        else if (argv[i] === '--emf')
            args.emf.push(argv[++i]);
        else if (argv[i] === '--allow-missing')
            args.allowMissing = true;
        else
            throw new Error(`usage: node queries.js [--allow-missing] --findings FILE [--emf FILE]`);
    }
    let lines = [];
    for (const f of args.findings.concat(args.emf)) {
        if (!fs.existsSync(f)) {
            if (args.allowMissing) {
                console.log(`deploy queries: ${f} does not exist (no test wrote to it in this run)`);
                continue;
            }
            throw new Error(`${f} does not exist`);
        }
        lines = lines.concat(readJsonl(f));
    }
    const queries = templateQueries();
    const problems = checkAgainstOracle(lines, queries);
    for (const [name] of Object.entries(queries)) {
        const n = lines.some(SPECS[name].subject) ? runQuery(name, queries[name], lines).length : 0;
        console.log(`deploy queries: ${name}: ${n} rows over ${lines.length} lines`);
    }
    problems.forEach((p) => console.error(`deploy queries: ${p}`));
    console.log(`${Object.keys(queries).length - new Set(problems.map((p) => p.split(':')[0])).size} passed, ` +
                `${new Set(problems.map((p) => p.split(':')[0])).size} failed`);
    return problems.length ? 1 : 0;
}

if (require.main === module)
    process.exit(main(process.argv.slice(2)));

module.exports = { templateQueries, docQueries, dashboardQueries, oneLine, runQuery, checkAgainstOracle,
                   readJsonl, SPECS, someTaskArn };
