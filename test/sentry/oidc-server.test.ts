/**
 * The OIDC discovery server (`--oidc-*`, Dapr's pkg/sentry/server/oidc) over real loopback HTTP and
 * HTTPS: the discovery document and JWKS as Dapr serves them, the JWKS following the provider (a
 * bundle reload), the path prefix, the allowed-hosts check, status codes, TLS checked by a node
 * client pinned to the certificate and by `openssl s_client`, the TLS files awaited and swapped.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { generateKeyPairSync, type JsonWebKey } from 'node:crypto';
import { copyFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { pino } from 'pino';
import { isWardenError } from '../../src/core/errors.js';
import type { OidcServerOptions } from '../../src/sentry/oidc/options.js';
import { startOidcServer, type OidcServer } from '../../src/sentry/oidc/server.js';
import { jwksOf, rsaKey, selfSignedTlsFiles } from '../support/jwt-tokens.js';
import { captureLogger, tempDir, type LogRecord } from '../support/sentry-harness.js';

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** One request over loopback; `host` sets the Host header, `ca` makes it HTTPS pinned to that certificate. */
function call(port: number, path: string, opts: { host?: string; headers?: Record<string, string>; method?: string; ca?: string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers = { ...(opts.host ? { host: opts.host } : {}), ...opts.headers };
    const options = { host: '127.0.0.1', port, path, method: opts.method ?? 'GET', headers, agent: false as const };
    const onResponse = (res: import('node:http').IncomingMessage): void => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    };
    const req = opts.ca === undefined ? httpRequest(options, onResponse) : httpsRequest({ ...options, ca: opts.ca, servername: 'localhost' }, onResponse);
    req.on('error', reject);
    req.end();
  });
}

const BASE: OidcServerOptions = { listenAddress: '127.0.0.1', port: 0, allowedHosts: [], signingAlgorithm: 'RS256' };

describe('OIDC discovery server (http)', () => {
  const servers: OidcServer[] = [];
  const logs: LogRecord[] = [];
  let jwks: { keys: JsonWebKey[] } | undefined = jwksOf(rsaKey('k1'));
  const start = async (over: Partial<OidcServerOptions> = {}, algorithm?: () => string | undefined): Promise<number> => {
    const server = await startOidcServer({ ...BASE, ...over }, { jwks: () => jwks, algorithm, logger: captureLogger(logs) });
    servers.push(server);
    return server.listening();
  };
  after(() => Promise.all(servers.map((s) => s.close())));

  it('serves the discovery document: issuer and jwks_uri from the request host, Dapr\'s fields in Go\'s order, JSON + newline, cached 1 h', async () => {
    const port = await start();
    const res = await call(port, '/.well-known/openid-configuration');
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'application/json');
    assert.equal(res.headers['cache-control'], 'public, max-age=3600');
    assert.ok(res.body.endsWith('}\n'));
    const doc = JSON.parse(res.body) as Record<string, unknown>;
    assert.deepEqual(Object.keys(doc), ['issuer', 'jwks_uri', 'response_types_supported', 'subject_types_supported',
      'id_token_signing_alg_values_supported', 'scopes_supported', 'claims_supported']);
    assert.deepEqual(doc, {
      issuer: `http://127.0.0.1:${port}`,
      jwks_uri: `http://127.0.0.1:${port}/jwks.json`,
      response_types_supported: ['id_token'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['RS256'],
      scopes_supported: ['openid'],
      claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'nbf', 'use'],
    });
    const other = JSON.parse((await call(port, '/.well-known/openid-configuration', { host: 'sentry.example:443' })).body) as Record<string, unknown>;
    assert.deepEqual([other.issuer, other.jwks_uri], ['http://sentry.example:443', 'http://sentry.example:443/jwks.json']);
  });

  it('serves the JWKS of the provider, and follows it when the bundle changes (reload)', async () => {
    const port = await start();
    const first = await call(port, '/jwks.json');
    assert.equal(first.status, 200);
    assert.equal(first.headers['content-type'], 'application/json');
    assert.equal(first.headers['cache-control'], 'public, max-age=3600');
    assert.deepEqual(JSON.parse(first.body), jwks);
    const before = jwks;
    jwks = jwksOf(rsaKey('k2'), rsaKey('k1'));
    try {
      const second = JSON.parse((await call(port, '/jwks.json')).body) as { keys: { kid: string }[] };
      assert.deepEqual(second.keys.map((k) => k.kid), ['k2', 'k1']);
      assert.deepEqual(second, jwks);
    } finally {
      jwks = before;
    }
  });

  it('announces the algorithm of the current JWT key, else the configured one', async () => {
    let alg: string | undefined = 'ES256';
    const port = await start({ signingAlgorithm: 'RS256' }, () => alg);
    const algOf = async (): Promise<unknown> => (JSON.parse((await call(port, '/.well-known/openid-configuration')).body) as Record<string, unknown>).id_token_signing_alg_values_supported;
    assert.deepEqual(await algOf(), ['ES256']);
    alg = undefined;
    assert.deepEqual(await algOf(), ['RS256']);
  });

  it('without JWT material in the bundle: 404 `JWKS not available` / `OIDC configuration not available`', async () => {
    const port = await start();
    const before = jwks;
    jwks = undefined;
    try {
      const a = await call(port, '/jwks.json');
      const b = await call(port, '/.well-known/openid-configuration');
      assert.deepEqual([a.status, a.body, b.status, b.body], [404, 'JWKS not available\n', 404, 'OIDC configuration not available\n']);
      assert.equal(a.headers['content-type'], 'text/plain; charset=utf-8');
    } finally {
      jwks = before;
    }
  });

  it('--jwt-issuer and --oidc-jwks-uri are announced as given (an empty --oidc-jwks-uri too)', async () => {
    const fixed = await start({ jwtIssuer: 'https://issuer.example/dapr', jwksUri: 'https://cdn.example/keys.json' });
    const doc1 = JSON.parse((await call(fixed, '/.well-known/openid-configuration', { host: 'elsewhere' })).body) as Record<string, unknown>;
    assert.deepEqual([doc1.issuer, doc1.jwks_uri], ['https://issuer.example/dapr', 'https://cdn.example/keys.json']);
    // The JWKS path resolves against the issuer's scheme and host (Go's ResolveReference of an absolute path).
    const issuerOnly = await start({ jwtIssuer: 'https://issuer.example/dapr' });
    const doc2 = JSON.parse((await call(issuerOnly, '/.well-known/openid-configuration', { host: 'elsewhere' })).body) as Record<string, unknown>;
    assert.deepEqual([doc2.issuer, doc2.jwks_uri], ['https://issuer.example/dapr', 'https://issuer.example/jwks.json']);
    const emptyUri = await start({ jwksUri: '' });
    const doc3 = JSON.parse((await call(emptyUri, '/.well-known/openid-configuration', { host: 'h:1' })).body) as Record<string, unknown>;
    assert.deepEqual([doc3.issuer, doc3.jwks_uri], ['http://h:1', '']);
  });

  it('--oidc-path-prefix moves both endpoints (a trailing / dropped, `/` is none); the bare paths are 404', async () => {
    const port = await start({ pathPrefix: '/dapr/oidc/' });
    assert.equal((await call(port, '/dapr/oidc/jwks.json')).status, 200);
    const doc = JSON.parse((await call(port, '/dapr/oidc/.well-known/openid-configuration', { host: 'h' })).body) as Record<string, unknown>;
    assert.equal(doc.jwks_uri, 'http://h/dapr/oidc/jwks.json');
    const bare = await call(port, '/jwks.json');
    assert.deepEqual([bare.status, bare.body], [404, '404 page not found\n']);
    assert.equal((await call(port, '/.well-known/openid-configuration')).status, 404);
    assert.ok(logs.some((l) => l.msg === 'Using path prefix "/dapr/oidc" for OIDC HTTP endpoints'));
    const root = await start({ pathPrefix: '/' });
    assert.equal((await call(root, '/jwks.json')).status, 200);
    const unrooted = await start({ pathPrefix: 'api' });
    assert.equal((await call(unrooted, '/api/jwks.json')).status, 200);
  });

  it('unknown paths are 404 and only GET is served (HEAD and POST: 405), query strings ignored', async () => {
    const port = await start();
    assert.deepEqual([(await call(port, '/')).status, (await call(port, '/jwks.json/')).status, (await call(port, '/healthz')).status], [404, 404, 404]);
    const post = await call(port, '/jwks.json', { method: 'POST' });
    assert.deepEqual([post.status, post.body], [405, 'Method not allowed\n']);
    assert.equal((await call(port, '/jwks.json', { method: 'HEAD' })).status, 405);
    assert.equal((await call(port, '/jwks.json?x=1')).status, 200);
  });

  it('--oidc-allowed-hosts: other hosts get 403 `Forbidden: unauthorized domain`; a listed host matches with or without its port', async () => {
    const port = await start({ allowedHosts: ['sentry.example', 'oidc.example:8443'] });
    const denied = await call(port, '/jwks.json', { host: 'evil.example' });
    assert.deepEqual([denied.status, denied.body], [403, 'Forbidden: unauthorized domain\n']);
    assert.equal((await call(port, '/.well-known/openid-configuration', { host: `127.0.0.1:${port}` })).status, 403);
    assert.ok(logs.some((l) => l.msg === 'Request from unauthorized domain: evil.example' && l.level === 40));
    assert.equal((await call(port, '/jwks.json', { host: 'sentry.example' })).status, 200);
    assert.equal((await call(port, '/jwks.json', { host: 'sentry.example:9080' })).status, 200);
    assert.equal((await call(port, '/jwks.json', { host: 'oidc.example:8443' })).status, 200);
    assert.equal((await call(port, '/jwks.json', { host: 'oidc.example' })).status, 403);
    // Unknown paths are 404 whatever the host (the check wraps the two endpoints only).
    assert.equal((await call(port, '/nope', { host: 'evil.example' })).status, 404);
  });

  it('X-Forwarded-Host is checked against the list, and names the issuer only when a concrete entry vetted it (not with `*`)', async () => {
    const listed = await start({ allowedHosts: ['public.example'] });
    const ok = await call(listed, '/.well-known/openid-configuration', { host: 'internal:9080', headers: { 'x-forwarded-host': 'public.example' } });
    assert.equal(ok.status, 200);
    assert.equal((JSON.parse(ok.body) as Record<string, unknown>).issuer, 'http://public.example');
    assert.equal((await call(listed, '/jwks.json', { host: 'public.example', headers: { 'x-forwarded-host': 'evil.example' } })).status, 403);

    const wildcard = await start({ allowedHosts: ['*'] });
    const any = await call(wildcard, '/.well-known/openid-configuration', { host: 'internal:9080', headers: { 'x-forwarded-host': 'evil.example' } });
    assert.equal(any.status, 200);
    assert.equal((JSON.parse(any.body) as Record<string, unknown>).issuer, 'http://internal:9080');

    const open = await start();
    const unvetted = await call(open, '/.well-known/openid-configuration', { host: 'internal:9080', headers: { 'x-forwarded-host': 'evil.example' } });
    assert.equal((JSON.parse(unvetted.body) as Record<string, unknown>).issuer, 'http://internal:9080');
  });

  it('escapes <, > and & in the document as Go\'s encoder does', async () => {
    const port = await start({ jwtIssuer: 'https://a.example/?x=<y>&z' });
    const body = (await call(port, '/.well-known/openid-configuration')).body;
    assert.ok(body.includes('"issuer":"https://a.example/?x=\\u003cy\\u003e\\u0026z"'), body);
  });

  it('bounds headers: an 8 KiB+ header block gets 431 and the server keeps serving', async () => {
    const port = await start();
    const status = await new Promise<string>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => socket.write(`GET /jwks.json HTTP/1.1\r\nHost: h\r\nX-Big: ${'a'.repeat(9000)}\r\n\r\n`));
      let data = '';
      socket.on('data', (d) => (data += d.toString()));
      socket.on('close', () => resolve(data.split('\r\n')[0] ?? ''));
      socket.on('error', reject);
    });
    assert.equal(status, 'HTTP/1.1 431 Request Header Fields Too Large');
    assert.equal((await call(port, '/jwks.json')).status, 200);
  });

  it('a port in use is ERR_LISTEN_FAILED', async () => {
    const port = await start();
    await assert.rejects(startOidcServer({ ...BASE, port }, { jwks: () => jwks, logger: pino({ level: 'silent' }) }),
      (err: unknown) => isWardenError(err) && err.code === 'ERR_LISTEN_FAILED');
  });
});

describe('OIDC discovery server (TLS)', () => {
  const dir = tempDir('warden-oidc-tls-');
  const jwks = jwksOf(rsaKey('k1'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('serves HTTPS with the given files: a client pinned to the certificate connects, the issuer is https, openssl s_client verifies it', async () => {
    const tls = selfSignedTlsFiles(dir, 'oidc');
    const server = await startOidcServer({ ...BASE, tlsCertFile: tls.certFile, tlsKeyFile: tls.keyFile }, { jwks: () => jwks, logger: pino({ level: 'silent' }) });
    try {
      const port = await server.listening();
      const res = await call(port, '/.well-known/openid-configuration', { ca: tls.certPem, host: `localhost:${port}` });
      assert.equal(res.status, 200);
      assert.deepEqual(JSON.parse(res.body), {
        ...JSON.parse(res.body),
        issuer: `https://localhost:${port}`,
        jwks_uri: `https://localhost:${port}/jwks.json`,
      });
      assert.deepEqual(JSON.parse((await call(port, '/jwks.json', { ca: tls.certPem })).body), jwks);
      // Plain HTTP to the TLS port gets nothing useful.
      await assert.rejects(call(port, '/jwks.json'));
      const out = await sClient(port, tls.certFile, []);
      assert.match(out, /Verify return code: 0 \(ok\)/);
      assert.match(out, /New, TLSv1\.[23],/);
      // TLS 1.1 is refused (Dapr: MinVersion TLS 1.2).
      const old = await sClient(port, tls.certFile, ['-tls1_1']);
      assert.doesNotMatch(old, /New, TLSv1\.1,/);
      assert.match(old, /no peer certificate available/);
    } finally {
      await server.close();
    }
  });

  it('waits for missing TLS files (not ready meanwhile), starts once they exist, and swaps the certificate when they change', async () => {
    const certFile = join(dir, 'late.crt');
    const keyFile = join(dir, 'late.key');
    const logs: LogRecord[] = [];
    const server = await startOidcServer({ ...BASE, tlsCertFile: certFile, tlsKeyFile: keyFile, tlsPollMs: 20 }, { jwks: () => jwks, logger: captureLogger(logs) });
    try {
      assert.equal(server.ready, false);
      assert.match(server.notReadyReason ?? '', /waiting for the OIDC TLS certificate and key files/);
      assert.ok(logs.some((l) => l.msg === `Waiting for TLS certificate and key files to be available: ${certFile}, ${keyFile}` && l.level === 40));
      const first = selfSignedTlsFiles(dir, 'first');
      copyFileSync(first.keyFile, keyFile);
      copyFileSync(first.certFile, certFile);
      const port = await server.listening();
      assert.equal(server.ready, true);
      assert.equal((await call(port, '/jwks.json', { ca: first.certPem })).status, 200);

      const second = selfSignedTlsFiles(dir, 'second');
      const swapped = new Promise<void>((resolve) => server.onTlsLoaded(resolve));
      writeFileSync(keyFile, readFileSync(second.keyFile));
      writeFileSync(certFile, readFileSync(second.certFile));
      await swapped;
      // A load needs a matching pair (a key and certificate caught mid-write do not load), so the
      // first load after the writes is the second pair.
      assert.equal((await call(port, '/jwks.json', { ca: second.certPem })).status, 200);
      await assert.rejects(call(port, '/jwks.json', { ca: first.certPem }), /self-signed|certificate/);
    } finally {
      await server.close();
    }
  });

  it('TLS files present at start-up that do not load are ERR_OIDC_TLS_INVALID (a key that is not the certificate\'s)', async () => {
    const tls = selfSignedTlsFiles(dir, 'mismatch');
    writeFileSync(tls.keyFile, generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type: 'pkcs8' }));
    await assert.rejects(startOidcServer({ ...BASE, tlsCertFile: tls.certFile, tlsKeyFile: tls.keyFile }, { jwks: () => jwks, logger: pino({ level: 'silent' }) }),
      (err: unknown) => isWardenError(err) && err.code === 'ERR_OIDC_TLS_INVALID' && /failed to load TLS certificate and key/.test(err.message));
  });
});

/** `openssl s_client` against 127.0.0.1:port trusting only `caFile`; resolves with its output (never rejects). */
function sClient(port: number, caFile: string, extra: string[]): Promise<string> {
  return new Promise((resolve) => {
    const child = execFile('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', 'localhost', '-CAfile', caFile, '-verify_return_error', ...extra],
      { timeout: 30_000 }, (_err, stdout, stderr) => resolve(`${stdout}\n${stderr}`));
    child.stdin?.end('GET /jwks.json HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
  });
}
