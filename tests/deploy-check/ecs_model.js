'use strict';
/*
 * Validates a request body (a task definition JSON, a CreateDaemon input) against the ECS API
 * model of the AWS SDK for JavaScript v3 that package-lock.json pins (@aws-sdk/client-ecs): every
 * member must exist in the operation's input structure (a misspelt or unsupported field is what
 * the CLI rejects with `Unknown parameter in input`), have the model's JSON type, and every
 * required member must be present. The compact schemas carry no enum values; the enums the SDK
 * exports are applied to the members listed in ENUMS.
 */
const ecs = loadSdk('@aws-sdk/client-ecs');
const { NormalizedSchema } = loadSdk('@smithy/core/schema');

function loadSdk(name) {
    try {
        return require(name);
    } catch (e) {
        if (e.code !== 'MODULE_NOT_FOUND')
            throw e;
        console.error(`deploy check: ${name} is not installed: run \`npm ci --ignore-scripts\` ` +
                      `in ${__dirname} (scripts/test.sh does)`);
        process.exit(2);
    }
}

/* Structure.member -> the SDK's exported enum. */
const ENUMS = {
    'RegisterTaskDefinitionRequest.networkMode': ecs.NetworkMode,
    'RegisterTaskDefinitionRequest.pidMode': ecs.PidMode,
    'RegisterTaskDefinitionRequest.ipcMode': ecs.IpcMode,
    'RegisterDaemonTaskDefinitionRequest.pidMode': ecs.DaemonPidMode,
    'RegisterDaemonTaskDefinitionRequest.ipcMode': ecs.DaemonIpcMode,
    'CreateDaemonRequest.propagateTags': ecs.DaemonPropagateTags,
    'LogConfiguration.logDriver': ecs.LogDriver,
    'Ulimit.name': ecs.UlimitName,
};
const LIST_ENUMS = { 'RegisterTaskDefinitionRequest.requiresCompatibilities': ecs.Compatibility };

/* The number of required members: the 7th slot of a static structure schema (the first N). */
function requiredCount(ns) {
    const raw = ns.getSchema();
    return Array.isArray(raw) && typeof raw[6] === 'number' ? raw[6] : 0;
}

function typeName(v) {
    return Array.isArray(v) ? 'array' : v === null ? 'null' : typeof v;
}

function check(ns, value, where, errors) {
    if (ns.isStructSchema()) {
        if (typeName(value) !== 'object')
            return errors.push(`${where}: expected an object (${ns.getName()}), got ${typeName(value)}`);
        const members = [...ns.structIterator()];
        const known = new Map(members);
        members.slice(0, requiredCount(ns)).forEach(([name]) => {
            if (!(name in value))
                errors.push(`${where}: required member ${name} of ${ns.getName()} is missing`);
        });
        for (const [key, v] of Object.entries(value)) {
            const m = known.get(key);
            if (!m) {
                errors.push(`${where}.${key}: not a member of ${ns.getName()} in the ECS model`);
                continue;
            }
            const en = ENUMS[`${ns.getName()}.${key}`];
            if (en && !Object.values(en).includes(v))
                errors.push(`${where}.${key}: ${JSON.stringify(v)} is not one of ${Object.values(en).join(', ')}`);
            const len = LIST_ENUMS[`${ns.getName()}.${key}`];
            if (len && Array.isArray(v))
                v.filter((x) => !Object.values(len).includes(x)).forEach((x) =>
                    errors.push(`${where}.${key}: ${JSON.stringify(x)} is not one of ${Object.values(len).join(', ')}`));
            check(m, v, `${where}.${key}`, errors);
        }
        return;
    }
    if (ns.isListSchema()) {
        if (!Array.isArray(value))
            return errors.push(`${where}: expected an array, got ${typeName(value)}`);
        value.forEach((v, i) => check(ns.getValueSchema(), v, `${where}[${i}]`, errors));
        return;
    }
    if (ns.isMapSchema()) {
        if (typeName(value) !== 'object')
            return errors.push(`${where}: expected a map, got ${typeName(value)}`);
        for (const [k, v] of Object.entries(value))
            check(ns.getValueSchema(), v, `${where}.${k}`, errors);
        return;
    }
    const want = ns.isBooleanSchema() ? 'boolean' : ns.isNumericSchema() ? 'number'
        : ns.isStringSchema() ? 'string' : null;
    if (want && typeName(value) !== want)
        errors.push(`${where}: expected a ${want}, got ${typeName(value)} ${JSON.stringify(value)}`);
}

/* Errors (strings) of `body` as the input of `operation` (e.g. "RegisterTaskDefinition"). */
function validateInput(operation, body) {
    const schema = ecs[`${operation}Request$`];
    if (!schema)
        return [`the pinned @aws-sdk/client-ecs has no ${operation} operation`];
    const errors = [];
    check(NormalizedSchema.of(schema), body, operation, errors);
    return errors;
}

function sdkVersion() {
    return require('@aws-sdk/client-ecs/package.json').version;
}

module.exports = { validateInput, sdkVersion };
