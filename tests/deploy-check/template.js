'use strict';
/*
 * deploy/cloudformation/ecsguard.yaml as data: read with CloudFormation's short-form tags, its
 * intrinsic functions resolved against placeholder values (the same placeholders the task
 * definition JSON files carry), and its ECS resources turned into the API requests CloudFormation
 * makes for them (PascalCase properties -> the API's camelCase members).
 */
const fs = require('fs');
const path = require('path');
const YAML = require('yaml');

const ROOT = path.resolve(__dirname, '..', '..');
const TEMPLATE = path.join(ROOT, 'deploy', 'cloudformation', 'ecsguard.yaml');

const TAGS = ['Ref', 'Sub', 'GetAtt', 'If', 'Equals', 'Not', 'And', 'Or', 'Condition', 'Join',
              'Select', 'Split', 'FindInMap', 'Base64', 'GetAZs', 'ImportValue'];

function customTags() {
    const tags = [];
    for (const name of TAGS) {
        const key = name === 'Ref' || name === 'Condition' ? name : `Fn::${name}`;
        const make = (value) => ({ [key]: name === 'GetAtt' && typeof value === 'string' ? value.split('.') : value });
        for (const collection of [undefined, 'seq', 'map'])
            tags.push({ tag: `!${name}`, collection, resolve: (v) => make(v && v.toJSON ? v.toJSON() : v) });
    }
    return tags;
}

function load(file = TEMPLATE) {
    return YAML.parse(fs.readFileSync(file, 'utf8'), { customTags: customTags(), version: '1.1' });
}

/* The values the task definition JSON files use for what the template takes from elsewhere. */
const PLACEHOLDERS = {
    refs: {
        'AWS::Region': 'REGION', 'AWS::AccountId': 'ACCOUNT_ID', 'AWS::Partition': 'aws',
        'AWS::StackName': 'ecsguard', 'AWS::NoValue': undefined,
        Image: 'ACCOUNT_ID.dkr.ecr.REGION.amazonaws.com/ecsguard:0.1.0',
        FindingsLogGroup: '/ecsguard/findings',
        ClusterName: 'my-cluster',
        CapacityProviderArns: ['arn:aws:ecs:REGION:ACCOUNT_ID:capacity-provider/my-mi-provider'],
        DaemonCritical: false,
        DaemonTaskDefinition: 'arn:aws:ecs:REGION:ACCOUNT_ID:daemon-task-definition/ecsguard-managed:1',
        TaskDefinition: 'arn:aws:ecs:REGION:ACCOUNT_ID:task-definition/ecsguard:1',
    },
    attrs: {
        'TaskExecutionRole.Arn': 'arn:aws:iam::ACCOUNT_ID:role/ecsguard-task-execution',
        'TaskRole.Arn': 'arn:aws:iam::ACCOUNT_ID:role/ecsguard-task',
    },
};

function resolve(v, ctx = PLACEHOLDERS) {
    if (Array.isArray(v))
        return v.map((x) => resolve(x, ctx)).filter((x) => x !== undefined);
    if (v === null || typeof v !== 'object')
        return v;
    const keys = Object.keys(v);
    if (keys.length === 1 && keys[0] === 'Ref') {
        if (!(v.Ref in ctx.refs))
            throw new Error(`no placeholder for Ref ${v.Ref}`);
        return ctx.refs[v.Ref];
    }
    if (keys.length === 1 && keys[0] === 'Fn::GetAtt') {
        const k = v['Fn::GetAtt'].join('.');
        if (!(k in ctx.attrs))
            throw new Error(`no placeholder for GetAtt ${k}`);
        return ctx.attrs[k];
    }
    if (keys.length === 1 && keys[0] === 'Fn::Sub') {
        return v['Fn::Sub'].replace(/\$\{([^}]+)\}/g, (_, name) => {
            const r = name.includes('.') ? ctx.attrs[name] : ctx.refs[name];
            if (r === undefined)
                throw new Error(`no placeholder for \${${name}} in Fn::Sub`);
            return r;
        });
    }
    if (keys.length === 1 && keys[0].startsWith('Fn::'))
        throw new Error(`${keys[0]} is not resolved by this check`);
    const out = {};
    for (const k of keys) {
        const r = resolve(v[k], ctx);
        if (r !== undefined)
            out[k] = r;
    }
    return out;
}

/* Keys whose members are data (log driver options), not API member names. */
const OPAQUE = new Set(['Options']);

function camel(v) {
    if (Array.isArray(v))
        return v.map(camel);
    if (v === null || typeof v !== 'object')
        return v;
    const out = {};
    for (const [k, x] of Object.entries(v))
        out[k[0].toLowerCase() + k.slice(1)] = OPAQUE.has(k) ? x : camel(x);
    return out;
}

/* The API request CloudFormation makes for a resource's properties. */
function apiRequest(template, logicalId) {
    const res = template.Resources[logicalId];
    if (!res)
        throw new Error(`the template has no resource ${logicalId}`);
    return camel(resolve(res.Properties));
}

module.exports = { load, resolve, apiRequest, TEMPLATE, ROOT, PLACEHOLDERS };
