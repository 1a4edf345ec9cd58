/**
 * The Kubernetes API test server: HTTPS on 127.0.0.1 (ephemeral port) with a generated CA,
 * bearer-token authentication, discovery, the resources Warden uses, watches, a rollout
 * controller, fault injection and a request log; plus a kubeconfig for kubectl and
 * @kubernetes/client-node. See README.md next to this file for the whole API.
 *
 *   const server = await startKubeApiServer();
 *   execFile('kubectl', ['--kubeconfig', server.kubeconfigPath, 'get', 'ns']);
 *   await server.close();
 */
import { randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { systemClock, type Clock } from '../../../src/core/clock.js';
import { DEFAULT_VERSION, discoveryDocument, type ServerVersion } from './discovery.js';
import { FaultInjector } from './faults.js';
import { handleResource, type HandlerContext } from './handlers.js';
import { KubeApi } from './kube-api.js';
import { renderKubeconfig, type KubeconfigContext } from './kubeconfig.js';
import { ObjectStore } from './object-store.js';
import { parseRequestInfo, type RequestInfo } from './request-info.js';
import { RequestLog, type RequestRecord } from './request-log.js';
import { RolloutController } from './rollout-controller.js';
import { isServerTimers, realTimers, type ServerTimers } from './server-timers.js';
import { badRequest, internalError, KubeStatusError, unauthorized, unsupportedMediaType } from './status.js';
import { serverPki } from './tls.js';
import { decodeSelfSubjectAccessReview } from './protobuf-ssar.js';
import { ADMIN_USER, attributesOf, forbiddenError, isAllowed, type KubeUser } from './rbac.js';
import { API_AUDIENCES, TokenAuthority } from './tokens.js';

export interface KubeApiServerOptions {
  /** The bearer token clients must send (default: random). */
  token?: string;
  /**
   * Timestamps (creationTimestamp, token iat/exp, conditions, the rollout log). A clock that is
   * also `ServerTimers` (a `ManualServerClock`) times the rollouts too, unless `timers` is given.
   */
  clock?: Clock;
  /** How rollouts wait (default: the clock if it has timers, else real time). */
  timers?: ServerTimers;
  /** Default rollout duration (`server.rollout.delayMs`, changeable later). Default 100 ms. */
  rolloutDelayMs?: number;
  /** Watch history kept for `resourceVersion` resumes (default 10 000 events). */
  watchHistory?: number;
  /** What `/version` reports (default v1.32.4, matching the kubectl on these machines). */
  version?: ServerVersion;
  /** Namespace of the kubeconfig context (default 'default'). */
  contextNamespace?: string;
  /** Extra namespaces to create at start (besides default, kube-system, kube-public, kube-node-lease). */
  namespaces?: readonly string[];
}

export interface KubeApiServer {
  /** `https://127.0.0.1:<port>`. */
  readonly url: string;
  readonly port: number;
  readonly token: string;
  /** PEM of the CA that signed the serving certificate. */
  readonly caPem: string;
  /** A kubeconfig file (context `warden-test`), removed by `close()`. */
  readonly kubeconfigPath: string;
  readonly kubeconfigYaml: string;
  /** In-process access with the server's semantics ("another client"): get/list/create/update/patch/delete/mutate. */
  readonly api: KubeApi;
  readonly store: ObjectStore;
  readonly rollout: RolloutController;
  readonly faults: FaultInjector;
  readonly requests: RequestLog;
  readonly tokens: TokenAuthority;
  /** The clock the server stamps objects and tokens with. */
  readonly clock: Clock;
  /** The timers rollouts advance on. */
  readonly timers: ServerTimers;
  /**
   * Ends every open watch stream now, as an API server restart or a watch timeout does; clients
   * must re-watch from their last resourceVersion (or relist on 410). Returns how many ended.
   */
  dropWatches(): number;
  /** Watch streams open right now. */
  readonly openWatches: number;
  /** A kubeconfig text for other contexts on this server (e.g. `{ name: 'bad', token: 'nope' }`). */
  kubeconfigWith(contexts: readonly (Partial<KubeconfigContext> & { name: string })[], current?: string): string;
  close(): Promise<void>;
}

export const CONTEXT_NAME = 'warden-test';
const MAX_BODY_BYTES = 3 * 1024 * 1024;
// Paths the real server serves to unauthenticated clients (system:public-info-viewer, OIDC discovery).
const PUBLIC_PATHS = new Set(['/version', '/healthz', '/livez', '/readyz', '/.well-known/openid-configuration', '/openid/v1/jwks']);

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) reject(new KubeStatusError({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'Request entity too large: limit is 3145728', reason: 'RequestEntityTooLarge', code: 413 }));
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

const BODY_TYPES = ['application/json', 'application/yaml', 'application/json-patch+json', 'application/merge-patch+json', 'application/strategic-merge-patch+json'];

function parseBody(raw: Buffer, contentType: string): unknown {
  if (raw.length === 0) return undefined;
  // JSON and YAML only: no protobuf (what kubectl's typed clients send for `create secret|configmap|token`) nor CBOR.
  if (!BODY_TYPES.includes(contentType)) throw unsupportedMediaType(contentType, ['application/json', 'application/yaml']);
  const text = raw.toString('utf8');
  try {
    return contentType.includes('yaml') ? parseYaml(text) : JSON.parse(text);
  } catch (err) {
    throw badRequest(`couldn't get version/kind; json parse error: ${(err as Error).message}`);
  }
}

const PROTOBUF = 'application/vnd.kubernetes.protobuf';

function decodeProtobufReview(raw: Buffer): unknown {
  try {
    return decodeSelfSubjectAccessReview(raw);
  } catch (err) {
    throw badRequest(`unable to decode SelfSubjectAccessReview: ${(err as Error).message}`);
  }
}

function send(res: ServerResponse, code: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent) return;
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(code, {
    'Content-Type': typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json',
    'Cache-Control': 'no-cache, private',
    'Audit-Id': randomUUID(),
    ...headers,
  });
  res.end(res.req.method === 'HEAD' ? undefined : text);
}

function tokenMatches(header: string | undefined, token: string): boolean | undefined {
  if (header === undefined) return undefined;
  const m = /^Bearer\s+(.+)$/i.exec(header.trim());
  if (!m) return false;
  const given = Buffer.from(m[1]!);
  const want = Buffer.from(token);
  return given.length === want.length && timingSafeEqual(given, want);
}

export async function startKubeApiServer(opts: KubeApiServerOptions = {}): Promise<KubeApiServer> {
  const pki = await serverPki();
  const clock = opts.clock ?? systemClock;
  const token = opts.token ?? randomBytes(24).toString('base64url');
  const version = opts.version ?? DEFAULT_VERSION;
  const store = new ObjectStore(opts.watchHistory);
  const api = new KubeApi(store, clock, pki.caPem);
  const timers = opts.timers ?? (isServerTimers(clock) ? clock : realTimers);
  const rollout = new RolloutController(store, api, clock, opts.rolloutDelayMs ?? 100, timers);
  const faults = new FaultInjector();
  const requests = new RequestLog();
  const tokens = new TokenAuthority(api, clock);
  const watches = new Set<() => void>();
  for (const ns of ['default', 'kube-system', 'kube-public', 'kube-node-lease', ...(opts.namespaces ?? [])]) {
    api.create('namespaces', undefined, { metadata: { name: ns } });
  }
  let url = '';
  /** The admin for the server's token; a service account (RBAC applies) for a valid service-account token; false otherwise. */
  const authenticate = (header: string | undefined): KubeUser | false | undefined => {
    const admin = tokenMatches(header, token);
    if (admin !== false) return admin ? ADMIN_USER : undefined;
    const bearer = /^Bearer\s+(.+)$/i.exec(header!.trim())?.[1];
    if (bearer === undefined) return false;
    const review = tokens.review(bearer, API_AUDIENCES);
    if (!review.authenticated || !review.user) return false;
    return { username: review.user.username, groups: review.user.groups, admin: false };
  };
  const ctx: HandlerContext = {
    api, store, tokens, clock,
    trackWatch: (stop, res) => {
      watches.add(stop);
      res.on('close', () => watches.delete(stop));
    },
  };

  const handle = async (req: IncomingMessage, res: ServerResponse, info: RequestInfo, record: RequestRecord): Promise<void> => {
    const method = req.method ?? 'GET';
    const latency = faults.latencyFor(method, info);
    if (latency > 0) await new Promise((r) => setTimeout(r, latency));
    await faults.heldUntilReleased(method, info);
    if (faults.takeReset(method, info)) {
      record.fault = 'reset';
      // RST on the TCP socket under the TLS one (a TLS socket cannot reset itself).
      const tcp = (req.socket as Socket & { _parent?: Socket })._parent;
      if (tcp) tcp.resetAndDestroy();
      else req.socket.destroy();
      return;
    }
    const user = authenticate(req.headers.authorization);
    if (user === false || (user === undefined && !PUBLIC_PATHS.has(info.path))) throw unauthorized();
    if (user !== undefined) {
      const attributes = attributesOf(info);
      if (!isAllowed(api, user, attributes)) throw forbiddenError(user, attributes);
    }
    const injected = faults.take(method, info);
    if (injected) {
      record.fault = injected.fault;
      throw injected.error;
    }
    const contentType = (req.headers['content-type'] ?? 'application/json').split(';')[0]!.trim().toLowerCase();
    const raw = await readBody(req);
    const body = contentType === PROTOBUF && info.resource === 'selfsubjectaccessreviews' ? decodeProtobufReview(raw) : parseBody(raw, contentType);
    if (!info.isResourceRequest) {
      if (info.path === '/healthz' || info.path === '/livez' || info.path === '/readyz') return send(res, 200, 'ok');
      if (info.path === '/openid/v1/jwks') return send(res, 200, tokens.jwks());
      if (info.path === '/.well-known/openid-configuration') return send(res, 200, tokens.openidConfiguration(url));
      const doc = discoveryDocument(info.path, url.replace('https://', ''), version);
      return doc === undefined ? send(res, 404, '404 page not found\n') : send(res, 200, doc);
    }
    const result = handleResource(ctx, info, { contentType, accept: req.headers.accept, ...(user ? { user } : {}) }, body, res);
    if (result === 'streaming') return;
    if ('text' in result) return send(res, result.code, result.text);
    send(res, result.code, result.body);
  };

  const server: Server = createServer({ cert: pki.certPem, key: pki.keyPem }, (req, res) => {
    const method = req.method ?? 'GET';
    let info: RequestInfo;
    try {
      info = parseRequestInfo(method, new URL(req.url ?? '/', 'https://127.0.0.1'));
    } catch {
      return send(res, 400, '400 bad request\n');
    }
    const record = requests.begin(method, info, {
      userAgent: req.headers['user-agent'],
      contentType: req.headers['content-type']?.split(';')[0]?.trim(),
    });
    const writeHead = res.writeHead.bind(res) as (...args: unknown[]) => ServerResponse;
    res.writeHead = ((...args: unknown[]) => {
      record.status = Number(args[0]);
      return writeHead(...args);
    }) as typeof res.writeHead;
    const finished = () => {
      record.durationMs ??= Date.now() - record.startedAt;
    };
    res.on('finish', finished);
    res.on('close', finished);
    handle(req, res, info, record).catch((err: unknown) => {
      if (err instanceof KubeStatusError) return send(res, err.code, err.status, err.headers);
      const status = internalError(err instanceof Error ? err.message : String(err));
      send(res, 500, status.status);
    });
  });
  // Idle keep-alive connections are left for the client to close, as kube-apiserver does (Go's
  // server sends no Keep-Alive header; its idle timeout is 90 s). Node's default, a 5 s server-side
  // timeout announced as `Keep-Alive: timeout=5`, races the client on a loaded machine: undici
  // reuses a socket its late timers still think alive just as the server closes it, and the call
  // fails with ECONNRESET / "fetch failed" (rotate -k exited 1 in the kill tests at load 30).
  // 0 = no server-side idle timeout and no Keep-Alive header; close() destroys every socket anyway.
  server.keepAliveTimeout = 0;
  // Raw TCP sockets, so close() also ends connections still in their TLS handshake (which
  // closeAllConnections() does not see) and never waits on a client that reconnects while closing.
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  url = `https://127.0.0.1:${port}`;

  const base: KubeconfigContext = { name: CONTEXT_NAME, server: url, caPem: pki.caPem, token, namespace: opts.contextNamespace ?? 'default' };
  const kubeconfigYaml = renderKubeconfig([base]);
  const dir = mkdtempSync(join(tmpdir(), 'warden-kube-api-'));
  const kubeconfigPath = join(dir, 'kubeconfig');
  writeFileSync(kubeconfigPath, kubeconfigYaml, { mode: 0o600 });

  return {
    url, port, token, caPem: pki.caPem, kubeconfigPath, kubeconfigYaml, api, store, rollout, faults, requests, tokens, clock, timers,
    dropWatches: () => {
      const open = [...watches];
      for (const stop of open) stop();
      return open.length;
    },
    get openWatches() {
      return watches.size;
    },
    kubeconfigWith: (contexts, current) => renderKubeconfig(contexts.map((c) => ({ ...base, ...c })), current),
    close: async () => {
      rollout.close();
      for (const stop of [...watches]) stop();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
