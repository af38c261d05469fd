'use strict';
/*
 * unit.deploy_check (`node --test check.test.js`): deploy/ against the ECS API model of the pinned
 * @aws-sdk/client-ecs, the CloudFormation template against the task definition JSON files and its
 * own invariants (the defects of issue 21 stay fixed), the saved queries run over real finding
 * lines and EMF records, the metric filter patterns, the dashboard. No network, no AWS account.
 */
const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const path = require('path');
const model = require('./ecs_model');
const tpl = require('./template');
const q = require('./queries');
const insights = require('./insights');
const fp = require('./filter_pattern');

const ROOT = tpl.ROOT;
const FIXTURES = path.join(ROOT, 'tests', 'fixtures');
const EC2_TD = path.join(ROOT, 'deploy', 'ecs', 'task-definition-ec2-daemon.json');
const MI_TD = path.join(ROOT, 'deploy', 'ecs', 'task-definition-managed-daemon.json');
const EC2_UNPRIVILEGED_TD = path.join(ROOT, 'deploy', 'ecs', 'task-definition-ec2-daemon-unprivileged.json');
const readJson = (f) => JSON.parse(fs.readFileSync(f, 'utf8'));
const template = tpl.load();
const corpus = q.readJsonl(path.join(FIXTURES, 'findings', 'corpus.jsonl'));
const emf = q.readJsonl(path.join(FIXTURES, 'cloudwatch', 'emf-health.jsonl'));
const resourcesOf = (type) => Object.entries(template.Resources).filter(([, r]) => r.Type === type);

test(`task definition JSON files are valid ECS API input (@aws-sdk/client-ecs ${model.sdkVersion()})`, () => {
    assert.deepStrictEqual(model.validateInput('RegisterTaskDefinition', readJson(EC2_TD)), []);
    assert.deepStrictEqual(model.validateInput('RegisterTaskDefinition', readJson(EC2_UNPRIVILEGED_TD)), []);
    assert.deepStrictEqual(model.validateInput('RegisterDaemonTaskDefinition', readJson(MI_TD)), []);
});

test('the model check refuses what the ECS API refuses', () => {
    const ec2 = readJson(EC2_TD);
    ec2.containerDefinitions[0].privilegd = true;
    ec2.pidMode = 'shared';
    ec2.containerDefinitions[0].cpu = '102';
    delete ec2.family;
    const errs = model.validateInput('RegisterTaskDefinition', ec2).join('\n');
    assert.match(errs, /privilegd: not a member of ContainerDefinition/);
    assert.match(errs, /pidMode: "shared" is not one of host, task/);
    assert.match(errs, /cpu: expected a number/);
    assert.match(errs, /required member family of RegisterTaskDefinitionRequest is missing/);
    const mi = readJson(MI_TD);
    mi.networkMode = 'host'; /* daemon task definitions have none */
    mi.pidMode = 'host';
    const miErrs = model.validateInput('RegisterDaemonTaskDefinition', mi).join('\n');
    assert.match(miErrs, /networkMode: not a member of RegisterDaemonTaskDefinitionRequest/);
    assert.match(miErrs, /pidMode: "host" is not one of none, shared/);
});

test('the template makes the same task definitions as the JSON files, and valid daemon and service requests', () => {
    assert.deepStrictEqual(tpl.apiRequest(template, 'TaskDefinition'), readJson(EC2_TD));
    assert.deepStrictEqual(tpl.apiRequest(template, 'DaemonTaskDefinition'), readJson(MI_TD));
    assert.deepStrictEqual(model.validateInput('CreateDaemon', tpl.apiRequest(template, 'Daemon')), []);
    assert.deepStrictEqual(model.validateInput('CreateService', tpl.apiRequest(template, 'Service')), []);
    assert.strictEqual(template.Parameters.DaemonCritical.Default, 'false');
});

test('deploy defects of issue 21 stay fixed', () => {
    const text = (f) => fs.readFileSync(path.join(ROOT, f), 'utf8');
    const deployFiles = ['deploy/README.md', 'deploy/Dockerfile', 'deploy/cloudformation/ecsguard.yaml',
                         'deploy/ecs/task-definition-ec2-daemon.json', 'deploy/ecs/task-definition-managed-daemon.json'];
    for (const f of deployFiles) {
        /* The README explains why it is gone; no mount of it may be listed. */
        assert.doesNotMatch(text(f), f.endsWith('.md') ? /^\| `\/host\/proc`/m : /\/host\/proc/,
                            `${f}: /host/proc is read by nothing`);
        assert.doesNotMatch(text(f), /awslogs-create-group/, f);
    }
    for (const f of deployFiles.slice(2))
        assert.doesNotMatch(text(f), /logs:CreateLogGroup/, `${f}: the log group exists before the task`);
    /* CreateDaemon takes --cluster-arn. */
    assert.doesNotMatch(text('deploy/README.md'), /create-daemon[^`]*--cluster\s/);
    assert.match(text('deploy/README.md'), /create-daemon[^`]*--cluster-arn/);
    assert.doesNotMatch(text('deploy/Dockerfile'), /^#\s*syntax=/m);
    /* Both task definitions deliver directly (the spool is used) and the Docker socket is on EC2 only, read-only. */
    for (const td of [readJson(EC2_TD), readJson(MI_TD)]) {
        const c = td.containerDefinitions[0];
        assert.ok(c.command.includes('--spool-dir') && c.command.some((a) => a.startsWith('cloudwatch:')));
        assert.ok(c.healthCheck, 'a health check (AWS recommends one for daemons)');
    }
    const sock = (td) => td.containerDefinitions[0].mountPoints.filter((m) => m.containerPath === '/var/run/docker.sock');
    assert.deepStrictEqual(sock(readJson(EC2_TD)).map((m) => m.readOnly), [true]);
    assert.deepStrictEqual(sock(readJson(MI_TD)), []);
    /* The log group: a generated name by default, a KMS key, a year's retention. */
    const lg = template.Resources.FindingsLogGroup.Properties;
    assert.strictEqual(template.Parameters.LogGroupName.Default, '');
    assert.deepStrictEqual(lg.LogGroupName, { 'Fn::If': ['GenerateLogGroupName', { Ref: 'AWS::NoValue' }, { Ref: 'LogGroupName' }] });
    assert.ok(lg.KmsKeyId, 'KmsKeyId');
    assert.ok(template.Parameters.LogRetentionDays.Default >= 365);
    /* IAM: only ecr:GetAuthorizationToken on "*". */
    for (const [id, role] of resourcesOf('AWS::IAM::Role'))
        for (const p of role.Properties.Policies)
            for (const st of p.PolicyDocument.Statement) {
                const actions = [].concat(st.Action);
                if (st.Resource === '*')
                    assert.deepStrictEqual(actions, ['ecr:GetAuthorizationToken'], `${id}: ${actions} on *`);
            }
});

/* ---- queries ---------------------------------------------------------------------------- */
const PINNED = {
    'ecsguard/high-findings-by-family': [
        {"family":"ecsguard-it","type":"Persistence:Runtime/SensitiveFileModified","findings":1,"maxSeverity":8},
        {"family":null,"type":"PrivilegeEscalation:Runtime/HostNamespaceEntered","findings":1,"maxSeverity":7.5},
        {"family":"tools","type":"PrivilegeEscalation:Runtime/HostNamespaceEntered","findings":1,"maxSeverity":7.5},
        {"family":"obs","type":"DefenseEvasion:Runtime/ProcessInjection.VirtualMemoryWrite","findings":1,"maxSeverity":8},
        {"family":"obs","type":"DefenseEvasion:Runtime/ProcessInjection.Proc","findings":1,"maxSeverity":8},
        {"family":"obs","type":"PrivilegeEscalation:Runtime/BpfCapabilityUsed","findings":1,"maxSeverity":7},
        {"family":"escapes","type":"PrivilegeEscalation:Runtime/RuncContainerEscape","findings":1,"maxSeverity":8},
        {"family":"escapes","type":"PrivilegeEscalation:Runtime/CGroupsReleaseAgentModified","findings":1,"maxSeverity":8},
        {"family":"escapes","type":"DefenseEvasion:Runtime/KernelModuleLoaded","findings":1,"maxSeverity":8},
        {"family":"escapes","type":"PrivilegeEscalation:Runtime/HostFileModified","findings":1,"maxSeverity":7.5},
        {"family":"evasion","type":"DefenseEvasion:Runtime/ContainerCgroupEscaped","findings":1,"maxSeverity":8},
        {"family":"compat","type":"DefenseEvasion:Runtime/CompatSyscallUsed","findings":1,"maxSeverity":7},
    ],
    'ecsguard/task-activity': [
        {"@timestamp":1796448125920,"type":"Persistence:Runtime/ContainerRootFilesystemModified","severity":2,"container":"worker","executable":null,"repeats":1,"id":"b5bbe05abbd941d2d814db27043c3b4a"},
        {"@timestamp":1796448125920,"type":"Execution:Runtime/NewBinaryExecuted","severity":5,"container":"worker","executable":"/bin/dropped","repeats":1,"id":"fa8db8184544d920ceb1027bae977304"},
    ],
    'ecsguard/cap-sys-admin-executables': [
        {"executable":"/bin/busybox","findings":2,"maxCount":1},
        {"executable":"/bin/egprobe","findings":2,"maxCount":2},
    ],
    'ecsguard/rootfs-writers': [
        {"family":"ecsguard-it","container":"worker","findings":1,"maxFiles":1},
        {"family":"ecsguard-it","container":"batch","findings":1,"maxFiles":10001},
    ],
    'ecsguard/agent-health': [
        {"Host":"vm","eventsDropped":0,"findingsDropped":0,"writeFailures":0,"deliveryFailed":0,"spoolDropped":0,"backlog":6,"healthRecords":2},
    ],
};
/* The sort key of each query's rows, to check the order the evaluator returned. */
const ORDER = {
    'ecsguard/high-findings-by-family': ['findings', -1],
    'ecsguard/task-activity': ['@timestamp', 1],
    'ecsguard/cap-sys-admin-executables': ['findings', -1],
    'ecsguard/rootfs-writers': ['findings', -1],
    'ecsguard/agent-health': ['eventsDropped', -1],
};

test('every saved query is in docs/queries.md and the dashboard shows the same text', () => {
    const saved = q.templateQueries(template);
    assert.deepStrictEqual(Object.keys(saved).sort(), Object.keys(PINNED).sort());
    assert.deepStrictEqual(q.docQueries(), saved);
    const shown = q.dashboardQueries(template);
    assert.ok(shown.length >= 2);
    for (const s of shown)
        assert.ok(Object.values(saved).map(q.oneLine).includes(s), `dashboard query is no saved query: ${s}`);
});

test('the saved queries return the expected rows over the committed corpus and EMF records', () => {
    const lines = corpus.concat(emf);
    for (const [name, text] of Object.entries(q.templateQueries(template))) {
        const rows = q.runQuery(name, text, lines);
        const canon = (rs) => rs.map((r) => JSON.stringify(r)).sort();
        assert.deepStrictEqual(canon(rows), canon(PINNED[name]), name);
        const [key, dir] = ORDER[name];
        for (let i = 1; i < rows.length; i++)
            assert.ok(dir * (rows[i][key] - rows[i - 1][key]) >= 0, `${name}: not sorted by ${key}`);
    }
    assert.deepStrictEqual(q.checkAgainstOracle(lines), []);
});

test('a renamed finding field fails the query check', () => {
    const renamed = corpus.map((l) => JSON.parse(JSON.stringify(l).replace(/"capabilityName"/g, '"capName"')
                                                                    .replace(/"distinctFileCount"/g, '"fileCount"')));
    const problems = q.checkAgainstOracle(renamed.concat(emf)).join('\n');
    assert.match(problems, /cap-sys-admin-executables: the log has lines it is about, and it returned no rows/);
    assert.match(problems, /rootfs-writers: column maxFiles is empty/);
    const emfRenamed = emf.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k === 'cloudwatch_backlog' ? 'backlog' : k, v])));
    assert.match(q.checkAgainstOracle(corpus.concat(emfRenamed)).join('\n'), /agent-health: column backlog is empty/);
});

test('the evaluator refuses what it does not implement and keeps its stated semantics', () => {
    const ev = [{ a: 1, b: 'x', updatedAt: '2026-01-01T00:00:00.000Z' }, { a: 2, updatedAt: '2026-01-01T00:00:01.000Z' }];
    assert.throws(() => insights.run('fields a | dedup a', ev), /unsupported command "dedup"/);
    assert.throws(() => insights.run('fields a | sort a', ev), /asc\|desc/);
    assert.throws(() => insights.run('stats avg(a) by b', ev), /unsupported aggregate/);
    assert.throws(() => insights.run('filter a like /x/ | fields a', ev), /cannot read condition/);
    assert.deepStrictEqual(insights.run('filter b != "y" | fields a', ev).rows, [{ a: 1 }]); /* missing: false */
    assert.deepStrictEqual(insights.run('stats count(*) as n by b | sort n desc', ev).rows, [{ b: 'x', n: 1 }, { b: null, n: 1 }]);
    assert.deepStrictEqual(insights.run('fields @timestamp, a | sort @timestamp desc | limit 1', ev).rows, [{ '@timestamp': Date.parse('2026-01-01T00:00:01.000Z'), a: 2 }]);
    assert.deepStrictEqual(insights.run('parse b /(?<c>x)/ | filter ispresent(c) | fields a, c', ev).rows, [{ a: 1, c: 'x' }]);
    assert.deepStrictEqual(insights.run('fields coalesce(b, a) as c', ev).rows, [{ c: 'x' }, { c: 2 }]);
    assert.throws(() => insights.run('fields toupper(b) as c', ev), /only field paths and coalesce/);
});

/* ---- metric filters, alarms, dashboard ------------------------------------------------- */
const filters = Object.fromEntries(resourcesOf('AWS::Logs::MetricFilter').map(([id, r]) => [id, r.Properties]));
const matches = (id, lines) => lines.filter(fp.compile(filters[id].FilterPattern));

test('every finding falls in exactly one severity band and health records in none', () => {
    const bands = { HighFindingsFilter: (s) => s >= 7, MediumFindingsFilter: (s) => s >= 4 && s < 7, LowFindingsFilter: (s) => s < 4 };
    for (const line of corpus.concat(emf)) {
        const hit = Object.keys(bands).filter((id) => matches(id, [line]).length);
        if (line.schemaVersion === '2.0')
            assert.deepStrictEqual(hit, Object.keys(bands).filter((id) => bands[id](line.severity)), line.id);
        else
            assert.deepStrictEqual(hit, []);
    }
    assert.strictEqual(matches('HighFindingsFilter', corpus).length, 12);
    assert.strictEqual(matches('FindingsByTypeFilter', corpus.concat(emf)).length, corpus.length);
    const dim = filters.FindingsByTypeFilter.MetricTransformations[0].Dimensions[0];
    for (const l of corpus)
        assert.strictEqual(fp.selectorValue(dim.Value, l), l.type);
});

test('the drop and delivery filters match a health record with a loss and not the real ones', () => {
    assert.deepStrictEqual(matches('EventsDroppedFilter', corpus.concat(emf)), []);
    assert.deepStrictEqual(matches('DeliveryFailuresFilter', corpus.concat(emf)), []);
    for (const k of ['kernel_events_dropped', 'findings_dropped'])
        assert.strictEqual(matches('EventsDroppedFilter', [Object.assign({}, emf[0], { [k]: 3 })]).length, 1, k);
    for (const k of ['sink_write_failures', 'cloudwatch_failed', 'cloudwatch_rejected', 'cloudwatch_dropped_queue_full',
                     'cloudwatch_dropped_spool_full', 'cloudwatch_spool_errors'])
        assert.strictEqual(matches('DeliveryFailuresFilter', [Object.assign({}, emf[0], { [k]: 1 })]).length, 1, k);
});

test('alarms and the dashboard read metrics that exist', () => {
    const declared = new Set(emf[0]._aws.CloudWatchMetrics[0].Metrics.map((m) => m.Name));
    const filterMetrics = new Set(Object.values(filters).map((f) => f.MetricTransformations[0].MetricName));
    for (const [id, a] of resourcesOf('AWS::CloudWatch::Alarm')) {
        assert.strictEqual(a.Properties.Namespace, 'ecsguard', id);
        assert.ok(filterMetrics.has(a.Properties.MetricName), `${id}: ${a.Properties.MetricName}`);
    }
    const body = template.Resources.Dashboard.Properties.DashboardBody['Fn::Sub'];
    const json = JSON.parse(body.replace(/\$\{[^}]+\}/g, 'X'));
    const named = new Set();
    for (const w of json.widgets.filter((x) => x.type === 'metric'))
        for (const m of w.properties.metrics)
            for (const part of m)
                if (typeof part === 'object')
                    for (const mm of part.expression.matchAll(/MetricName="(\w+)"/g))
                        named.add(mm[1]);
                else if (part !== 'ecsguard')
                    named.add(part);
    assert.ok(named.size >= 8);
    for (const n of named)
        assert.ok(declared.has(n) || filterMetrics.has(n), `the dashboard graphs ${n}, which nothing emits`);
});

/* The task-stopped page must come from ecsguard's own tasks: on EC2 the daemon service's group,
 * on Managed Instances the daemon task definition's container name. */
test('the task-stopped rule matches ecsguard tasks by the name each platform gives them', () => {
    const [cond, ec2, mi] = template.Resources.TaskStoppedRule.Properties.EventPattern.detail['Fn::If'];
    assert.strictEqual(cond, 'OnEC2');
    assert.deepStrictEqual(ec2.group, [`service:${template.Resources.Service.Properties.ServiceName}`]);
    assert.strictEqual(ec2.containers, undefined);
    const names = template.Resources.DaemonTaskDefinition.Properties.ContainerDefinitions.map((c) => c.Name);
    assert.deepStrictEqual(mi.containers.name, names);
    for (const branch of [ec2, mi])
        assert.deepStrictEqual(branch.lastStatus, ['STOPPED']);
});

/* A topic policy replaces SNS's default: each service that publishes to the created topic (an
 * alarm's actions, a rule's target) needs its own statement naming that resource, or its
 * notifications fail at run time with nothing at deploy time to say so. */
test('the created topic lets every alarm and rule that targets it publish', () => {
    const mentions = (v, ref) => JSON.stringify(v).includes(JSON.stringify({ Ref: ref }));
    const statements = template.Resources.AlarmTopicPolicy.Properties.PolicyDocument.Statement;
    const allowed = (service, id) => statements.some((st) =>
        st.Effect === 'Allow' && st.Action === 'sns:Publish' && st.Principal.Service === service &&
        [].concat(st.Condition.ArnEquals['aws:SourceArn']).some((a) => JSON.stringify(a) === JSON.stringify({ 'Fn::GetAtt': [id, 'Arn'] })));
    const publishers = [];
    for (const [id, a] of resourcesOf('AWS::CloudWatch::Alarm'))
        if (mentions([a.Properties.AlarmActions, a.Properties.OKActions], 'AlarmTopic'))
            publishers.push(['cloudwatch.amazonaws.com', id]);
    for (const [id, r] of resourcesOf('AWS::Events::Rule'))
        if (mentions(r.Properties.Targets, 'AlarmTopic'))
            publishers.push(['events.amazonaws.com', id]);
    assert.ok(publishers.length >= 4, JSON.stringify(publishers));
    for (const [service, id] of publishers)
        assert.ok(allowed(service, id), `${id} publishes to AlarmTopic, whose policy does not let ${service} publish for it`);
});

test('the unprivileged variant adds exactly the capabilities the agent is tested with', () => {
    /* tests/integration/harness.py ECS_UNPRIVILEGED_CAPS is what test_confinement and the
     * kernel matrix start the agent with; the task definition must add the same set and no
     * more, drop everything else, and differ from the privileged one in nothing else. */
    const harness = fs.readFileSync(path.join(ROOT, 'tests', 'integration', 'harness.py'), 'utf8');
    const tested = /ECS_UNPRIVILEGED_CAPS = "([a-z_,]+)"/.exec(harness)[1].split(',').map((c) => c.toUpperCase());
    const unpriv = readJson(EC2_UNPRIVILEGED_TD);
    const c = unpriv.containerDefinitions[0];
    assert.strictEqual(c.privileged, false);
    assert.deepStrictEqual([...c.linuxParameters.capabilities.add].sort(), [...tested].sort());
    assert.deepStrictEqual(c.linuxParameters.capabilities.drop, ['ALL']);
    const priv = readJson(EC2_TD);
    const strip = (td) => {
        const t = JSON.parse(JSON.stringify(td));
        delete t.family;
        delete t.containerDefinitions[0].privileged;
        delete t.containerDefinitions[0].linuxParameters.capabilities;
        return t;
    };
    assert.deepStrictEqual(strip(unpriv), strip(priv));
});
