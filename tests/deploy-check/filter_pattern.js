'use strict';
/*
 * CloudWatch Logs metric filter patterns for JSON events, the subset the metric filters of
 * deploy/cloudformation/ecsguard.yaml use: `{ $.a.b OP VALUE && ... || ... }` with OP one of
 * = != > >= < <=, VALUE a "string", a number or * (present), && binding tighter than ||,
 * parentheses.
 * A missing selector or a type mismatch (a number compared with a string) does not match, and a
 * non-JSON event matches no JSON pattern. Anything outside the subset is an error.
 */

const ANY = Symbol('*'); /* `$.a = *`: the selector is present (with any non-null value) */

function compile(pattern) {
    const body = /^\s*\{([\s\S]*)\}\s*$/.exec(pattern);
    if (!body)
        throw new Error(`not a JSON filter pattern: ${pattern}`);
    const re = /\s*(?:(\$(?:\.[A-Za-z_][\w]*)+)|("(?:[^"\\]|\\.)*")|(-?\d+(?:\.\d+)?)|(&&|\|\||<=|>=|!=|=|<|>|\(|\))|(\*))/y;
    const toks = [];
    re.lastIndex = 0;
    const s = body[1];
    while (!/^\s*$/.test(s.slice(re.lastIndex))) {
        const at = re.lastIndex;
        const m = re.exec(s);
        if (!m)
            throw new Error(`cannot read filter pattern at "${s.slice(at)}"`);
        if (m[1])
            toks.push({ k: 'sel', v: m[1].slice(2).split('.') });
        else if (m[2])
            toks.push({ k: 'val', v: JSON.parse(m[2]) });
        else if (m[3])
            toks.push({ k: 'val', v: Number(m[3]) });
        else if (m[4])
            toks.push({ k: 'op', v: m[4] });
        else
            toks.push({ k: 'val', v: ANY });
    }
    let i = 0;
    const expect = (v) => {
        if (!toks[i] || toks[i].v !== v)
            throw new Error(`expected "${v}" in ${pattern}`);
        i++;
    };
    function or() {
        let l = and();
        while (toks[i] && toks[i].v === '||') {
            i++;
            const a = l, b = and();
            l = (e) => a(e) || b(e);
        }
        return l;
    }
    function and() {
        let l = term();
        while (toks[i] && toks[i].v === '&&') {
            i++;
            const a = l, b = term();
            l = (e) => a(e) && b(e);
        }
        return l;
    }
    function term() {
        if (toks[i] && toks[i].v === '(') {
            i++;
            const e = or();
            expect(')');
            return e;
        }
        const sel = toks[i++], op = toks[i++], val = toks[i++];
        if (!sel || sel.k !== 'sel' || !op || op.k !== 'op' || !val || val.k !== 'val')
            throw new Error(`expected "$.field OP value" in ${pattern}`);
        if ((typeof val.v === 'string' || val.v === ANY) && !['=', '!='].includes(op.v))
            throw new Error(`strings compare with = or != only, in ${pattern}`);
        return (e) => {
            let v = e;
            for (const p of sel.v) {
                if (v === null || typeof v !== 'object' || !(p in v))
                    return false;
                v = v[p];
            }
            if (val.v === ANY)
                return op.v === '=' ? v !== null : v === null;
            if (typeof v !== typeof val.v)
                return false;
            switch (op.v) {
            case '=': return v === val.v;
            case '!=': return v !== val.v;
            case '<': return v < val.v;
            case '<=': return v <= val.v;
            case '>': return v > val.v;
            case '>=': return v >= val.v;
            default: throw new Error(`operator ${op.v} between terms in ${pattern}`);
            }
        };
    }
    const f = or();
    if (i !== toks.length)
        throw new Error(`unexpected "${toks[i].v}" in ${pattern}`);
    return f;
}

/* Dimension values `$.a.b` of one event (undefined when missing). */
function selectorValue(selector, event) {
    let v = event;
    for (const p of selector.replace(/^\$\./, '').split('.')) {
        if (v === null || typeof v !== 'object' || !(p in v))
            return undefined;
        v = v[p];
    }
    return v;
}

module.exports = { compile, selectorValue };
