// An MCP server built with the official TypeScript SDK, for toolgate's tests: streamable HTTP on
// 127.0.0.1 at /mcp, with sessions (the default), or --stateless, and SSE answers (the SDK's
// default) or --json-response; plain HTTP, or HTTPS requiring a client certificate.
//
//   node server.mjs [port] [--stateless] [--json-response] [--tls-cert FILE --tls-key FILE --client-ca FILE]
//     port: argv or $PORT, 0 = any free one; with --tls-*, HTTPS and a client certificate signed by
//     --client-ca is required (as an upstream that wants the sidecar's mTLS would)
//
// Tools: search_issues {repo, query}, delete_repo {repo}, echo {text}; resource docs://toolgate/readme;
// prompt triage {repo}.
//
// stdout, one line each: first "listening <port>", then JSON events the tests read to see what
// reached the upstream:
//   {"event":"http","method":"POST","url":"/mcp","headers":{...},"body":"...","peer":...}   every request, body
//        as received; peer: the client certificate's subjectaltname over HTTPS, else null
//   {"event":"tool","tool":"delete_repo","arguments":{...},"sessionId":"..."}      every tool call executed
//   {"event":"session","state":"open"|"closed","sessionId":"..."}
// The process exits when its stdin closes, so it never outlives the test JVM that started it.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';

const flags = new Set();
const files = {};
let portArg;
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  if (a === '--stateless' || a === '--json-response') {
    flags.add(a);
  } else if (a === '--tls-cert' || a === '--tls-key' || a === '--client-ca') {
    if (i + 1 >= process.argv.length) {
      console.error(`${a} needs a file`);
      process.exit(2);
    }
    files[a.slice(2)] = readFileSync(process.argv[++i]);
  } else if (a.startsWith('--') || portArg !== undefined) {
    console.error(`unexpected argument ${a} (expected: [port] [--stateless] [--json-response] [--tls-cert F --tls-key F --client-ca F])`);
    process.exit(2);
  } else {
    portArg = a;
  }
}
const tls = Object.keys(files).length > 0;
if (tls && Object.keys(files).length !== 3) {
  console.error('--tls-cert, --tls-key and --client-ca go together');
  process.exit(2);
}
portArg = portArg ?? process.env.PORT ?? '0';
const port = Number(portArg);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`port: ${portArg} (expected: 0..65535)`);
  process.exit(2);
}
const stateless = flags.has('--stateless');
const jsonResponse = flags.has('--json-response');

function emit(event) {
  process.stdout.write(JSON.stringify(event) + '\n');
}

function newServer() {
  const server = new McpServer({ name: 'toolgate-test-server', version: '1.0.0' });
  const text = (t) => ({ content: [{ type: 'text', text: t }] });
  const called = (tool, args, extra) => emit({ event: 'tool', tool, arguments: args, sessionId: extra.sessionId ?? null });

  server.registerTool('search_issues', {
    description: 'Search the issues of a repository',
    inputSchema: { repo: z.string(), query: z.string() },
    annotations: { readOnlyHint: true },
  }, async (args, extra) => {
    called('search_issues', args, extra);
    return text(JSON.stringify({ repo: args.repo, query: args.query,
      issues: [{ number: 1, title: `first match for ${args.query}` }, { number: 2, title: 'second match' }] }));
  });

  server.registerTool('delete_repo', {
    description: 'Delete a repository (pretend)',
    inputSchema: { repo: z.string() },
    annotations: { destructiveHint: true },
  }, async (args, extra) => {
    called('delete_repo', args, extra);
    return text(`deleted ${args.repo}`);
  });

  server.registerTool('echo', {
    description: 'Answer with the text it was given',
    inputSchema: { text: z.string() },
  }, async (args, extra) => {
    called('echo', args, extra);
    return text(args.text);
  });

  server.registerResource('readme', 'docs://toolgate/readme', {
    description: 'A fixed text document', mimeType: 'text/plain',
  }, async (uri) => ({ contents: [{ uri: uri.href, mimeType: 'text/plain', text: 'toolgate test server readme' }] }));

  server.registerPrompt('triage', {
    description: 'Triage the open issues of a repository',
    argsSchema: { repo: z.string() },
  }, ({ repo }) => ({ messages: [{ role: 'user', content: { type: 'text', text: `Triage the open issues of ${repo}` } }] }));

  return server;
}

const sessions = new Map(); // session id -> transport

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function jsonRpcError(res, status, code, message) {
  if (res.headersSent) return;
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: null }));
}

async function handle(req, res) {
  const raw = req.method === 'POST' ? await readBody(req) : Buffer.alloc(0);
  const peer = tls ? (req.socket.getPeerCertificate()?.subjectaltname ?? null) : null;
  emit({ event: 'http', method: req.method, url: req.url, headers: req.headers, body: raw.toString('utf8'), peer });
  const path = new URL(req.url, 'http://127.0.0.1').pathname;
  if (path !== '/mcp') {
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    return;
  }
  let body;
  if (req.method === 'POST') {
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch {
      jsonRpcError(res, 400, -32700, 'Parse error');
      return;
    }
  }

  if (stateless) {
    const server = newServer();
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: jsonResponse });
    res.on('close', () => { transport.close(); server.close(); });
    await server.connect(transport);
    await transport.handleRequest(req, res, body);
    return;
  }

  const sessionId = req.headers['mcp-session-id'];
  let transport = typeof sessionId === 'string' ? sessions.get(sessionId) : undefined;
  if (sessionId !== undefined && transport === undefined) {
    jsonRpcError(res, 404, -32001, 'Session not found');
    return;
  }
  if (transport === undefined) {
    const initialize = req.method === 'POST' && (Array.isArray(body) ? body.some(isInitializeRequest) : isInitializeRequest(body));
    if (!initialize) {
      jsonRpcError(res, 400, -32000, 'Bad Request: No valid session ID provided');
      return;
    }
    const server = newServer();
    transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      enableJsonResponse: jsonResponse,
      onsessioninitialized: (id) => { sessions.set(id, transport); emit({ event: 'session', state: 'open', sessionId: id }); },
      onsessionclosed: (id) => { sessions.delete(id); emit({ event: 'session', state: 'closed', sessionId: id }); },
    });
    transport.onclose = () => { if (transport.sessionId) sessions.delete(transport.sessionId); };
    await server.connect(transport);
  }
  await transport.handleRequest(req, res, body);
}

const listener = (req, res) => {
  handle(req, res).catch((e) => {
    console.error(`request failed: ${e?.stack ?? e}`);
    jsonRpcError(res, 500, -32603, 'Internal error');
  });
};
const http = tls
  ? createTlsServer({ cert: files['tls-cert'], key: files['tls-key'], ca: files['client-ca'],
    requestCert: true, rejectUnauthorized: true }, listener)
  : createServer(listener);
http.listen(port, '127.0.0.1', () => {
  process.stdout.write(`listening ${http.address().port}\n`);
});
http.on('error', (e) => {
  console.error(`cannot listen on 127.0.0.1:${port}: ${e.message}`);
  process.exit(1);
});
process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
process.stdin.resume();
process.on('SIGTERM', () => process.exit(0));
