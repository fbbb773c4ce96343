// An MCP client built with the official TypeScript SDK, for toolgate's tests: connects over
// streamable HTTP (http://, or https:// with a client certificate for the sidecar's mTLS), runs
// initialize, tools/list and the given operations, and prints one JSON line per result.
//
//   node client.mjs URL [options] [OPS_JSON]
//     --header 'name: value'   extra header on every request (repeatable), e.g. 'toolgate-task: tg1.x'
//     --cert FILE --key FILE   client certificate chain and key (PEM)
//     --ca FILE                trusted CA bundle (PEM) for the server's certificate
//     --session-id ID          use an existing session: no initialize (the SDK's reconnect path)
//     --no-list                skip tools/list
//   OPS_JSON: a JSON array run in order, each one of
//     {"tool":"echo","arguments":{...}}              tools/call (also {"op":"tools/call",...})
//     {"op":"resources/read","uri":"..."}   {"op":"resources/list"}
//     {"op":"prompts/get","name":"...","arguments":{...}}   {"op":"prompts/list"}   {"op":"ping"}
//     {"op":"terminate"}                             DELETE the session
//
// Output lines: {"op":"initialize","ok":true,"sessionId":..,"protocolVersion":..,"result":{..}}, then
// {"op":"tools/call","tool":"echo","ok":true,"result":{..}} or {"op":..,"ok":false,"error":{"kind":..,
// "code":..,"message":..,"data":..}}; kind is "jsonrpc" for a JSON-RPC error answer, "http" for an HTTP
// error status (code is the status), "transport" for anything else. A failed initialize ends the run.
// Exits 0 once it could try (results say what happened), 2 for bad usage.
import { readFileSync } from 'node:fs';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { Agent, fetch as undiciFetch } from 'undici';

function usage(message) {
  process.stderr.write(`client.mjs: ${message}\n`);
  process.exit(2);
}

const argv = process.argv.slice(2);
const opts = { headers: {}, list: true };
let url;
let ops = [];
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  const value = () => (i + 1 < argv.length ? argv[++i] : usage(`${a} needs a value`));
  switch (a) {
    case '--header': {
      const h = value();
      const colon = h.indexOf(':');
      if (colon <= 0) usage(`--header ${JSON.stringify(h)} (expected: 'name: value')`);
      opts.headers[h.slice(0, colon).trim()] = h.slice(colon + 1).trim();
      break;
    }
    case '--cert': opts.cert = readFileSync(value()); break;
    case '--key': opts.key = readFileSync(value()); break;
    case '--ca': opts.ca = readFileSync(value()); break;
    case '--session-id': opts.sessionId = value(); break;
    case '--no-list': opts.list = false; break;
    default:
      if (a.startsWith('--')) usage(`unknown option ${a}`);
      if (url === undefined) {
        url = a;
      } else {
        try { ops = JSON.parse(a); } catch (e) { usage(`operations are not JSON: ${e.message}`); }
        if (!Array.isArray(ops)) usage('operations must be a JSON array');
      }
  }
}
if (url === undefined) usage('URL missing');
if ((opts.cert === undefined) !== (opts.key === undefined)) usage('--cert and --key go together');

// The SDK takes a custom fetch; undici's own fetch with an Agent carries the client certificate.
const agent = new Agent({ connect: { cert: opts.cert, key: opts.key, ca: opts.ca } });
const fetchWithTls = (input, init) => undiciFetch(input, { ...init, dispatcher: agent });

function print(line) {
  process.stdout.write(JSON.stringify(line) + '\n');
}

function describe(e) {
  if (e instanceof McpError) {
    return { kind: 'jsonrpc', code: e.code, message: e.message, data: e.data ?? null };
  }
  if (e instanceof StreamableHTTPError) {
    return { kind: 'http', code: e.code ?? null, message: e.message, data: null };
  }
  const cause = e?.cause ? `: ${e.cause.code ?? ''} ${e.cause.message ?? e.cause}`.trimEnd() : '';
  return { kind: 'transport', code: null, message: `${e?.message ?? e}${cause}`, data: null };
}

const transport = new StreamableHTTPClientTransport(new URL(url), {
  fetch: fetchWithTls,
  requestInit: { headers: opts.headers },
  sessionId: opts.sessionId,
  reconnectionOptions: { maxRetries: 0, initialReconnectionDelay: 100, maxReconnectionDelay: 100, reconnectionDelayGrowFactor: 1 },
});
const client = new Client({ name: 'toolgate-test-client', version: '1.0.0' });
// Errors of the background GET stream show up through onerror; the printed results are what count.
client.onerror = () => {};

async function run(label, fn) {
  try {
    print({ ...label, ok: true, result: await fn() });
    return true;
  } catch (e) {
    print({ ...label, ok: false, error: describe(e) });
    return false;
  }
}

async function main() {
  try {
    await client.connect(transport);
  } catch (e) {
    print({ op: 'initialize', ok: false, error: describe(e) });
    return;
  }
  if (opts.sessionId === undefined) {
    print({ op: 'initialize', ok: true, sessionId: transport.sessionId ?? null,
      protocolVersion: transport.protocolVersion ?? null,
      result: { serverInfo: client.getServerVersion(), capabilities: client.getServerCapabilities() } });
  }
  if (opts.list) {
    await run({ op: 'tools/list' }, () => client.listTools());
  }
  for (const op of ops) {
    const kind = op.op ?? (op.tool !== undefined ? 'tools/call' : undefined);
    switch (kind) {
      case 'tools/call':
        await run({ op: kind, tool: op.tool }, () => client.callTool({ name: op.tool, arguments: op.arguments ?? {} }));
        break;
      case 'resources/read':
        await run({ op: kind, uri: op.uri }, () => client.readResource({ uri: op.uri }));
        break;
      case 'resources/list':
        await run({ op: kind }, () => client.listResources());
        break;
      case 'prompts/get':
        await run({ op: kind, name: op.name }, () => client.getPrompt({ name: op.name, arguments: op.arguments ?? {} }));
        break;
      case 'prompts/list':
        await run({ op: kind }, () => client.listPrompts());
        break;
      case 'ping':
        await run({ op: kind }, () => client.ping());
        break;
      case 'terminate':
        await run({ op: kind }, async () => { await transport.terminateSession(); return {}; });
        break;
      default:
        print({ op: kind ?? null, ok: false, error: { kind: 'usage', code: null, message: `unknown operation ${JSON.stringify(op)}`, data: null } });
    }
  }
}

await main();
await client.close().catch(() => {});
await agent.close().catch(() => {});
process.exit(0);
