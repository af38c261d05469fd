'use strict';
// Local stand-in for CloudWatch Logs, the ECS container credentials endpoint
// and IMDSv2, used by the sink tests. Every Logs request's SigV4 signature is
// recomputed with AWS's own signer (@smithy/signature-v4) and compared; limits
// of PutLogEvents are checked; accepted events are appended to a JSON-lines
// file. Faults are switched at runtime through the control port.
//
//   node server.js --state-dir DIR
// prints {"logs_port":N,"meta_port":M} once both listeners are up.
//   logs port: CloudWatch Logs JSON 1.1 (POST /)
//   meta port: /__control/*, /v2/credentials/<id> (ECS), /full/credentials
//              (FULL_URI, needs the Authorization token), /latest/* (IMDSv2)

const http = require('node:http');
const fs = require('node:fs');
const path = require('node:path');
const crypto = require('node:crypto');
const { SignatureV4 } = require('@smithy/signature-v4');
const { Sha256 } = require('@aws-crypto/sha256-js');

const MAX_BATCH_BYTES = 1048576;
const EVENT_OVERHEAD = 26;
const MAX_EVENTS = 10000;
const MAX_SPAN_MS = 24 * 3600 * 1000;
const MAX_MESSAGE = 262144 - 26;
const FOURTEEN_DAYS_MS = 14 * 24 * 3600 * 1000;

const args = process.argv.slice(2);
const stateDir = args[args.indexOf('--state-dir') + 1];
if (!stateDir || args.indexOf('--state-dir') < 0) {
  console.error('usage: node server.js --state-dir DIR');
  process.exit(2);
}
fs.mkdirSync(stateDir, { recursive: true });
const eventsFile = path.join(stateDir, 'events.jsonl');

const STATIC_KEY = { accessKeyId: 'AKIDFAKESTATIC', secretAccessKey: 'fake/static/secret', sessionToken: undefined, expiration: 0 };
const keys = new Map([[STATIC_KEY.accessKeyId, STATIC_KEY]]);

const state = {
  mode: 'ok', // ok | 500 | throttle | slow | down
  slowMs: 3000,
  credsTtlS: 3600,
  credsMode: 'ok', // ok | garbage | missing | error | 500
  fullUriToken: 'fake-container-token',
  imdsRole: 'ecsguard-instance-role',
  groups: new Map(), // group -> Set(stream)
  stats: {
    requests: 0, puts: 0, events: 0, bad_signatures: 0, expired_credentials: 0,
    limit_violations: 0, faults: 0, creds_issued: 0, imds_tokens: 0, creates: 0,
    unauthorized_creds: 0, max_batch_bytes: 0, max_batch_events: 0, emf_header: 0,
    keys_accepted: 0, // distinct access keys that signed an accepted request (refresh in use)
  },
  acceptedKeys: new Set(),
  violations: [],
};

function issueCredentials() {
  const accessKeyId = 'ASIAFAKE' + crypto.randomBytes(6).toString('hex').toUpperCase();
  const cred = {
    accessKeyId,
    secretAccessKey: crypto.randomBytes(20).toString('base64'),
    sessionToken: 'FakeToken/' + crypto.randomBytes(48).toString('base64'),
    expiration: Date.now() + state.credsTtlS * 1000,
  };
  keys.set(accessKeyId, cred);
  state.stats.creds_issued++;
  return cred;
}

function credentialsDocument(extra) {
  const c = issueCredentials();
  return Object.assign({}, extra, {
    AccessKeyId: c.accessKeyId,
    SecretAccessKey: c.secretAccessKey,
    Token: c.sessionToken,
    Expiration: new Date(c.expiration).toISOString().replace(/\.\d+Z$/, 'Z'),
  });
}

function send(res, status, obj, headers) {
  const body = typeof obj === 'string' ? obj : JSON.stringify(obj);
  res.writeHead(status, Object.assign({ 'Content-Type': 'application/x-amz-json-1.1' }, headers || {}));
  res.end(body);
}

function awsError(res, status, type, message) {
  send(res, status, { __type: type, message });
}

function violation(res, msg) {
  state.stats.limit_violations++;
  state.violations.push(msg);
  awsError(res, 400, 'InvalidParameterException', msg);
}

function parseAuthorization(h) {
  const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/.exec(h || '');
  if (!m) return null;
  return { accessKeyId: m[1], date: m[2], region: m[3], service: m[4], signedHeaders: m[5].split(';'), signature: m[6] };
}

function amzDateToDate(s) {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s || '');
  if (!m) return null;
  return new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]));
}

// Recompute the signature with AWS's signer over exactly the signed headers.
async function verifySignature(req, body) {
  const auth = parseAuthorization(req.headers.authorization);
  if (!auth) return { ok: false, why: 'malformed Authorization header' };
  if (auth.service !== 'logs') return { ok: false, why: `service ${auth.service}` };
  for (const h of ['host', 'x-amz-date', 'content-type', 'x-amz-target']) {
    if (!auth.signedHeaders.includes(h)) return { ok: false, why: `${h} not signed` };
  }
  const key = keys.get(auth.accessKeyId);
  if (!key) return { ok: false, code: 'UnrecognizedClientException', why: 'unknown access key' };
  if (key.sessionToken !== undefined) {
    if (!auth.signedHeaders.includes('x-amz-security-token')) return { ok: false, why: 'session token not signed' };
    if (req.headers['x-amz-security-token'] !== key.sessionToken) return { ok: false, why: 'wrong session token' };
  }
  const date = amzDateToDate(req.headers['x-amz-date']);
  if (!date || Math.abs(date.getTime() - Date.now()) > 5 * 60 * 1000) return { ok: false, why: 'X-Amz-Date missing or skewed' };
  if (key.expiration && Date.now() > key.expiration) {
    state.stats.expired_credentials++;
    return { ok: false, code: 'ExpiredTokenException', why: 'The security token included in the request is expired' };
  }
  const headers = {};
  for (const name of auth.signedHeaders) {
    if (name === 'x-amz-security-token') continue; // the signer adds it from the credentials
    if (req.headers[name] === undefined) return { ok: false, why: `signed header ${name} missing` };
    headers[name] = req.headers[name];
  }
  const [hostname, port] = req.headers.host.split(':');
  const signer = new SignatureV4({
    service: 'logs',
    region: auth.region,
    credentials: { accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey, sessionToken: key.sessionToken },
    sha256: Sha256,
    applyChecksum: false,
  });
  const signed = await signer.sign(
    { method: req.method, protocol: 'http:', hostname, port: port ? +port : undefined, path: req.url.split('?')[0], query: {}, headers, body },
    { signingDate: date },
  );
  const want = parseAuthorization(signed.headers.authorization);
  if (!want || want.signature !== auth.signature) return { ok: false, why: 'signature mismatch' };
  if (want.signedHeaders.join(';') !== auth.signedHeaders.join(';')) return { ok: false, why: 'signed header list mismatch' };
  return { ok: true, accessKeyId: key.accessKeyId };
}

function checkPutLimits(doc) {
  const ev = doc.logEvents;
  if (!Array.isArray(ev) || ev.length < 1) return 'logEvents must hold at least one event';
  if (ev.length > MAX_EVENTS) return `${ev.length} events > ${MAX_EVENTS}`;
  let bytes = 0;
  for (let i = 0; i < ev.length; i++) {
    const e = ev[i];
    if (typeof e.message !== 'string' || typeof e.timestamp !== 'number') return `event ${i} malformed`;
    const len = Buffer.byteLength(e.message, 'utf8');
    if (len < 1 || len > MAX_MESSAGE) return `event ${i} message of ${len} bytes`;
    bytes += len + EVENT_OVERHEAD;
    if (i > 0 && e.timestamp < ev[i - 1].timestamp) return `event ${i} out of chronological order`;
  }
  if (bytes > MAX_BATCH_BYTES) return `batch of ${bytes} bytes > ${MAX_BATCH_BYTES}`;
  if (ev[ev.length - 1].timestamp - ev[0].timestamp > MAX_SPAN_MS) return 'batch spans more than 24 hours';
  state.stats.max_batch_bytes = Math.max(state.stats.max_batch_bytes, bytes);
  state.stats.max_batch_events = Math.max(state.stats.max_batch_events, ev.length);
  return null;
}

async function handleLogs(req, res, body) {
  state.stats.requests++;
  if (state.mode === '500') {
    state.stats.faults++;
    return awsError(res, 500, 'ServiceUnavailableException', 'The service is unavailable (fault injected)');
  }
  if (state.mode === 'throttle') {
    state.stats.faults++;
    return awsError(res, 400, 'ThrottlingException', 'Rate exceeded (fault injected)');
  }
  if (state.mode === 'slow') {
    state.stats.faults++;
    await new Promise((r) => setTimeout(r, state.slowMs));
  }
  if (req.method !== 'POST' || req.headers['content-type'] !== 'application/x-amz-json-1.1') {
    return awsError(res, 400, 'SerializationException', 'expected POST with application/x-amz-json-1.1');
  }
  const v = await verifySignature(req, body);
  if (!v.ok) {
    if (!v.code) state.stats.bad_signatures++;
    return awsError(res, v.code ? 400 : 403, v.code || 'InvalidSignatureException', v.why);
  }
  if (!state.acceptedKeys.has(v.accessKeyId)) {
    state.acceptedKeys.add(v.accessKeyId);
    state.stats.keys_accepted = state.acceptedKeys.size;
  }
  if (req.headers['x-amzn-logs-format'] === 'json/emf') state.stats.emf_header++;
  let doc;
  try {
    doc = JSON.parse(body.toString('utf8'));
  } catch (e) {
    return awsError(res, 400, 'SerializationException', 'body is not JSON');
  }
  const target = req.headers['x-amz-target'] || '';
  const group = doc.logGroupName;
  const stream = doc.logStreamName;
  switch (target) {
    case 'Logs_20140328.CreateLogGroup':
      state.stats.creates++;
      if (state.groups.has(group)) return awsError(res, 400, 'ResourceAlreadyExistsException', 'The specified log group already exists');
      state.groups.set(group, new Set());
      return send(res, 200, '');
    case 'Logs_20140328.CreateLogStream':
      state.stats.creates++;
      if (!state.groups.has(group)) return awsError(res, 400, 'ResourceNotFoundException', 'The specified log group does not exist.');
      if (state.groups.get(group).has(stream)) return awsError(res, 400, 'ResourceAlreadyExistsException', 'The specified log stream already exists');
      state.groups.get(group).add(stream);
      return send(res, 200, '');
    case 'Logs_20140328.PutLogEvents': {
      if (!state.groups.has(group) || !state.groups.get(group).has(stream)) {
        return awsError(res, 400, 'ResourceNotFoundException', 'The specified log stream does not exist.');
      }
      const bad = checkPutLimits(doc);
      if (bad) return violation(res, bad);
      state.stats.puts++;
      const now = Date.now();
      let tooOldEnd = 0;
      while (tooOldEnd < doc.logEvents.length && doc.logEvents[tooOldEnd].timestamp < now - FOURTEEN_DAYS_MS) tooOldEnd++;
      const lines = [];
      for (let i = tooOldEnd; i < doc.logEvents.length; i++) {
        const e = doc.logEvents[i];
        lines.push(JSON.stringify({ group, stream, timestamp: e.timestamp, message: e.message }));
      }
      if (lines.length) fs.appendFileSync(eventsFile, lines.join('\n') + '\n');
      state.stats.events += lines.length;
      const out = { nextSequenceToken: String(state.stats.puts) };
      if (tooOldEnd) out.rejectedLogEventsInfo = { tooOldLogEventEndIndex: tooOldEnd };
      return send(res, 200, out);
    }
    default:
      return awsError(res, 400, 'UnknownOperationException', `unsupported target ${target}`);
  }
}

// A fault response for the credential endpoints, or false to serve real credentials.
function credsResponse(res) {
  const json = { 'Content-Type': 'application/json' };
  switch (state.credsMode) {
    case 'garbage': send(res, 200, '{"AccessKeyId": "ASIA', json); return true;
    case 'missing': send(res, 200, { AccessKeyId: 'ASIAONLY', Expiration: '2030-01-01T00:00:00Z' }, json); return true;
    case 'error': send(res, 200, { code: 'AccessDenied', message: 'task role not found' }, json); return true;
    case '500': send(res, 500, 'internal error', { 'Content-Type': 'text/plain' }); return true;
    default: return false;
  }
}

function handleMeta(req, res, body) {
  const url = new URL(req.url, 'http://meta');
  const p = url.pathname;
  if (p === '/__control/mode') {
    state.mode = url.searchParams.get('m') || 'ok';
    if (url.searchParams.get('delay')) state.slowMs = +url.searchParams.get('delay');
    return setMode().then(() => send(res, 200, { mode: state.mode }));
  }
  if (p === '/__control/stats') return send(res, 200, Object.assign({ mode: state.mode, violations: state.violations }, state.stats));
  if (p === '/__control/creds') {
    if (url.searchParams.get('ttl')) state.credsTtlS = +url.searchParams.get('ttl');
    if (url.searchParams.get('mode')) state.credsMode = url.searchParams.get('mode');
    return send(res, 200, { ttl: state.credsTtlS, mode: state.credsMode });
  }
  if (p.startsWith('/v2/credentials/') && req.method === 'GET') {
    return credsResponse(res) || send(res, 200, credentialsDocument({ RoleArn: 'arn:aws:iam::123456789012:role/ecsguard-task' }), { 'Content-Type': 'application/json' });
  }
  if (p === '/full/credentials' && req.method === 'GET') {
    if (req.headers.authorization !== state.fullUriToken) {
      state.stats.unauthorized_creds++;
      return send(res, 401, { code: 'Unauthorized', message: 'bad authorization token' });
    }
    return credsResponse(res) || send(res, 200, credentialsDocument({}), { 'Content-Type': 'application/json' });
  }
  if (p === '/latest/api/token') {
    if (req.method !== 'PUT' || !req.headers['x-aws-ec2-metadata-token-ttl-seconds']) return send(res, 400, 'bad token request', { 'Content-Type': 'text/plain' });
    const token = 'imds-' + crypto.randomBytes(16).toString('hex');
    state.imdsTokens = state.imdsTokens || new Set();
    state.imdsTokens.add(token);
    state.stats.imds_tokens++;
    return send(res, 200, token, { 'Content-Type': 'text/plain' });
  }
  if (p.startsWith('/latest/meta-data/iam/security-credentials/')) {
    const token = req.headers['x-aws-ec2-metadata-token'];
    if (!token || !state.imdsTokens || !state.imdsTokens.has(token)) return send(res, 401, '', { 'Content-Type': 'text/plain' });
    const role = p.slice('/latest/meta-data/iam/security-credentials/'.length);
    if (role === '') return send(res, 200, state.imdsRole, { 'Content-Type': 'text/plain' });
    if (role !== state.imdsRole) return send(res, 404, 'not found', { 'Content-Type': 'text/plain' });
    return credsResponse(res) || send(res, 200, JSON.stringify(credentialsDocument({ Code: 'Success', LastUpdated: new Date().toISOString(), Type: 'AWS-HMAC' }), null, 2), { 'Content-Type': 'text/plain' });
  }
  return send(res, 404, { message: 'no such path' });
}

function collect(handler) {
  return (req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      Promise.resolve(handler(req, res, Buffer.concat(chunks))).catch((e) => {
        console.error(e);
        if (!res.headersSent) awsError(res, 500, 'InternalFailure', String(e));
      });
    });
  };
}

const logsServer = http.createServer(collect(handleLogs));
const logsSockets = new Set();
logsServer.on('connection', (s) => {
  logsSockets.add(s);
  s.on('close', () => logsSockets.delete(s));
});
let logsPort = 0;
let logsListening = false;

// "down" closes the listener so clients get connection refused, like a dead endpoint.
function setMode() {
  return new Promise((resolve) => {
    if (state.mode === 'down' && logsListening) {
      logsListening = false;
      logsServer.close(() => resolve());
      for (const s of logsSockets) s.destroy();
    } else if (state.mode !== 'down' && !logsListening) {
      logsListening = true;
      logsServer.listen(logsPort, '127.0.0.1', () => resolve());
    } else {
      resolve();
    }
  });
}

const metaServer = http.createServer(collect(handleMeta));
logsServer.listen(0, '127.0.0.1', () => {
  logsListening = true;
  logsPort = logsServer.address().port;
  metaServer.listen(0, '127.0.0.1', () => {
    process.stdout.write(JSON.stringify({ logs_port: logsPort, meta_port: metaServer.address().port }) + '\n');
  });
});
process.on('SIGTERM', () => process.exit(0));
