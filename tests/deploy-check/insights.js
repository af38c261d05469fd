'use strict';
/*
 * A CloudWatch Logs Insights evaluator for the subset of the query language the saved queries of
 * deploy/cloudformation/ecsguard.yaml use, so that they run here over real finding lines:
 *
 *   fields EXPR [as NAME], ...      columns to show (later commands still see every field);
 *                                   EXPR is a field or coalesce(FIELD, ...) (the first present)
 *   filter COND                     =, !=, <, <=, >, >=, and, or, not, ( ), ispresent(F),
 *                                   "strings", numbers
 *   parse FIELD /REGEX/             named groups (?<name>...) become fields; no match: unset
 *   stats AGG [as NAME], ... [by F, ...]   count(*), count(F), count_distinct(F), max, min, sum
 *   sort F asc|desc, ...            the direction is required here (no default is assumed)
 *   limit N
 *
 * Fields are JSON paths flattened with dots, as Logs Insights discovers them in JSON events
 * (`resource.ecsClusterDetails.taskDetails.arn`). A missing field makes every comparison false,
 * counts nothing and groups under null in `stats ... by`. @timestamp is the event time: a
 * finding's updatedAt, an EMF record's _aws.Timestamp. Anything outside the subset is an error,
 * never ignored.
 */

class QueryError extends Error {}

/* Split on top-level `|` (not inside "strings", 'strings' or /regex/). */
function splitCommands(text) {
    const out = [];
    let cur = '', quote = null;
    for (let i = 0; i < text.length; i++) {
        const c = text[i];
        if (quote) {
            cur += c;
            if (c === '\\' && i + 1 < text.length)
                cur += text[++i];
            else if (c === quote)
                quote = null;
            continue;
        }
        if (c === '"' || c === "'" || (c === '/' && /\s$/.test(cur)))
            quote = c;
        if (c === '|') {
            out.push(cur.trim());
            cur = '';
            continue;
        }
        cur += c;
    }
    out.push(cur.trim());
    return out.filter((c) => c.length);
}

function getPath(record, path) {
    if (path === '@timestamp')
        return record['@timestamp'];
    if (Object.prototype.hasOwnProperty.call(record, path))
        return record[path];
    let v = record;
    for (const part of path.split('.')) {
        if (v === null || typeof v !== 'object' || !(part in v))
            return undefined;
        v = v[part];
    }
    return v;
}

/* ---- conditions: a small recursive-descent parser ------------------------------------------ */
function tokenize(s) {
    const re = /\s*(?:("(?:[^"\\]|\\.)*")|('(?:[^'\\]|\\.)*')|(-?\d+(?:\.\d+)?)|(<=|>=|!=|=|<|>|\(|\)|,)|([@A-Za-z_][\w.@]*))/y;
    const toks = [];
    let m;
    re.lastIndex = 0;
    while (re.lastIndex < s.length) {
        if (/^\s*$/.test(s.slice(re.lastIndex)))
            break;
        const at = re.lastIndex;
        if (!(m = re.exec(s)))
            throw new QueryError(`cannot read condition at "${s.slice(at)}"`);
        if (m[1] || m[2])
            toks.push({ k: 'str', v: JSON.parse('"' + (m[1] || m[2]).slice(1, -1).replace(/\\'/g, "'") + '"') });
        else if (m[3])
            toks.push({ k: 'num', v: Number(m[3]) });
        else if (m[4])
            toks.push({ k: 'op', v: m[4] });
        else
            toks.push({ k: 'id', v: m[5] });
    }
    return toks;
}

function parseCondition(text) {
    const t = tokenize(text);
    let i = 0;
    const peek = () => t[i];
    const isWord = (w) => peek() && peek().k === 'id' && peek().v.toLowerCase() === w;
    function or() {
        let l = and();
        while (isWord('or')) {
            i++;
            const a = l, b = and();
            l = (r) => a(r) || b(r);
        }
        return l;
    }
    function and() {
        let l = unary();
        while (isWord('and')) {
            i++;
            const a = l, b = unary();
            l = (r) => a(r) && b(r);
        }
        return l;
    }
    function unary() {
        if (isWord('not')) {
            i++;
            const a = unary();
            return (r) => !a(r);
        }
        if (peek() && peek().v === '(') {
            i++;
            const e = or();
            expect(')');
            return e;
        }
        return comparison();
    }
    function expect(v) {
        if (!peek() || peek().v !== v)
            throw new QueryError(`expected "${v}" in condition "${text}"`);
        i++;
    }
    function operand() {
        const tok = t[i++];
        if (!tok)
            throw new QueryError(`condition "${text}" ends early`);
        if (tok.k === 'str' || tok.k === 'num')
            return () => tok.v;
        if (tok.k === 'id')
            return (r) => getPath(r, tok.v);
        throw new QueryError(`unexpected "${tok.v}" in condition "${text}"`);
    }
    function comparison() {
        if (peek() && peek().k === 'id' && peek().v === 'ispresent' && t[i + 1] && t[i + 1].v === '(') {
            i += 2;
            const f = operand();
            expect(')');
            return (r) => f(r) !== undefined && f(r) !== null;
        }
        const l = operand();
        const op = t[i++];
        if (!op || op.k !== 'op' || !['=', '!=', '<', '<=', '>', '>='].includes(op.v))
            throw new QueryError(`expected a comparison in condition "${text}"`);
        const rgt = operand();
        return (r) => {
            const a = l(r), b = rgt(r);
            if (a === undefined || a === null || b === undefined || b === null)
                return false;
            switch (op.v) {
            case '=': return a === b;
            case '!=': return a !== b;
            case '<': return a < b;
            case '<=': return a <= b;
            case '>': return a > b;
            default: return a >= b;
            }
        };
    }
    const e = or();
    if (i !== t.length)
        throw new QueryError(`unexpected "${t[i].v}" in condition "${text}"`);
    return e;
}

/* "a as b, c" -> [{expr:'a', name:'b'}, {expr:'c', name:'c'}] (commas inside ( ) kept). */
function splitList(text) {
    const parts = [];
    let depth = 0, cur = '';
    for (const c of text) {
        if (c === '(')
            depth++;
        if (c === ')')
            depth--;
        if (c === ',' && depth === 0) {
            parts.push(cur.trim());
            cur = '';
        } else {
            cur += c;
        }
    }
    if (cur.trim())
        parts.push(cur.trim());
    return parts.map((p) => {
        const m = /^(.*?)\s+as\s+([A-Za-z_]\w*)$/.exec(p);
        return m ? { expr: m[1].trim(), name: m[2] } : { expr: p, name: p };
    });
}

/* A `fields` expression: a field path, or coalesce() of field paths. */
function fieldExpression(expr) {
    const path = /^[@A-Za-z_][\w.@]*$/;
    if (path.test(expr))
        return (r) => getPath(r, expr);
    const m = /^coalesce\((.*)\)$/.exec(expr);
    const args = m ? m[1].split(',').map((a) => a.trim()) : [];
    if (!m || !args.length || !args.every((a) => path.test(a)))
        throw new QueryError(`fields: only field paths and coalesce(FIELD, ...) are supported, not "${expr}"`);
    return (r) => {
        for (const a of args) {
            const v = getPath(r, a);
            if (v !== undefined && v !== null)
                return v;
        }
        return undefined;
    };
}

const AGGREGATES = {
    count: (vals, star) => star ? vals.length : vals.filter((v) => v !== undefined && v !== null).length,
    count_distinct: (vals) => new Set(vals.filter((v) => v !== undefined && v !== null).map((v) => JSON.stringify(v))).size,
    max: (vals) => numbers(vals).reduce((a, b) => (a === null || b > a ? b : a), null),
    min: (vals) => numbers(vals).reduce((a, b) => (a === null || b < a ? b : a), null),
    sum: (vals) => numbers(vals).reduce((a, b) => a + b, 0),
};

function numbers(vals) {
    return vals.filter((v) => typeof v === 'number');
}

function compare(a, b) {
    const na = a === undefined || a === null, nb = b === undefined || b === null;
    if (na || nb)
        return na && nb ? 0 : na ? 1 : -1; /* nulls last either way */
    return a < b ? -1 : a > b ? 1 : 0;
}

/* Run `query` over parsed JSON events; returns { columns, rows } (rows: objects by column). */
function run(query, events) {
    let records = events.map((e) => Object.assign({ '@timestamp': timestampOf(e) }, e));
    let columns = null;
    let aggregated = false;
    for (const cmd of splitCommands(query)) {
        const m = /^(\w+)\s+([\s\S]*)$/.exec(cmd);
        if (!m)
            throw new QueryError(`cannot read command "${cmd}"`);
        const [, verb, rest] = m;
        if (verb === 'fields') {
            const list = splitList(rest).map((f) => Object.assign(f, { value: fieldExpression(f.expr) }));
            records = records.map((r) => {
                const o = Object.assign({}, r);
                for (const f of list)
                    o[f.name] = f.value(r);
                return o;
            });
            columns = (columns || []).concat(list.map((f) => f.name).filter((n) => !(columns || []).includes(n)));
        } else if (verb === 'filter') {
            const cond = parseCondition(rest);
            records = records.filter(cond);
        } else if (verb === 'parse') {
            const pm = /^([@A-Za-z_][\w.@]*)\s+\/(.*)\/$/.exec(rest.trim());
            if (!pm)
                throw new QueryError(`parse: only "parse FIELD /REGEX/" is supported: "${rest}"`);
            const re = new RegExp(pm[2]);
            const names = [...pm[2].matchAll(/\(\?<(\w+)>/g)].map((x) => x[1]);
            if (!names.length)
                throw new QueryError(`parse: the regex names no field: "${pm[2]}"`);
            records = records.map((r) => {
                const v = getPath(r, pm[1]);
                const mm = typeof v === 'string' ? re.exec(v) : null;
                const o = Object.assign({}, r);
                for (const n of names)
                    o[n] = mm ? mm.groups[n] : undefined;
                return o;
            });
        } else if (verb === 'stats') {
            const sm = /^([\s\S]*?)(?:\s+by\s+([\s\S]+))?$/.exec(rest);
            const aggs = splitList(sm[1]).map((a) => {
                const am = /^(\w+)\((.*)\)$/.exec(a.expr);
                if (!am || !AGGREGATES[am[1]])
                    throw new QueryError(`stats: unsupported aggregate "${a.expr}"`);
                return { fn: am[1], arg: am[2].trim(), name: a.name };
            });
            const by = sm[2] ? splitList(sm[2]).map((b) => b.expr) : [];
            const groups = new Map();
            for (const r of records) {
                const key = JSON.stringify(by.map((b) => getPath(r, b) ?? null));
                if (!groups.has(key))
                    groups.set(key, []);
                groups.get(key).push(r);
            }
            records = [...groups.entries()].map(([key, rs]) => {
                const o = {};
                JSON.parse(key).forEach((v, k) => { o[by[k]] = v; });
                for (const a of aggs)
                    o[a.name] = AGGREGATES[a.fn](a.arg === '*' ? rs : rs.map((r) => getPath(r, a.arg)), a.arg === '*');
                return o;
            });
            columns = by.concat(aggs.map((a) => a.name));
            aggregated = true;
        } else if (verb === 'sort') {
            const keys = rest.split(',').map((k) => {
                const km = /^([@A-Za-z_][\w.@]*)\s+(asc|desc)$/.exec(k.trim());
                if (!km)
                    throw new QueryError(`sort: "FIELD asc|desc" expected, got "${k.trim()}"`);
                return { f: km[1], dir: km[2] === 'asc' ? 1 : -1 };
            });
            records = records.map((r, idx) => ({ r, idx })).sort((x, y) => {
                for (const k of keys) {
                    const a = getPath(x.r, k.f), b = getPath(y.r, k.f);
                    const nullish = (v) => v === undefined || v === null;
                    const c = nullish(a) || nullish(b) ? compare(a, b) : k.dir * compare(a, b);
                    if (c)
                        return c;
                }
                return x.idx - y.idx;
            }).map((x) => x.r);
        } else if (verb === 'limit') {
            if (!/^\d+$/.test(rest.trim()))
                throw new QueryError(`limit: a number expected, got "${rest}"`);
            records = records.slice(0, Number(rest));
        } else {
            throw new QueryError(`unsupported command "${verb}"`);
        }
    }
    if (!columns)
        throw new QueryError('the query shows no columns (no fields or stats)');
    const rows = records.map((r) => {
        const o = {};
        for (const c of columns)
            o[c] = aggregated ? r[c] : getPath(r, c);
        return o;
    });
    return { columns, rows };
}

function timestampOf(e) {
    if (e && e._aws && typeof e._aws.Timestamp === 'number')
        return e._aws.Timestamp;
    if (e && typeof e.updatedAt === 'string')
        return Date.parse(e.updatedAt);
    return undefined;
}

module.exports = { run, splitCommands, QueryError };
