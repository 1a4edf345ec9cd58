/**
 * Failed Kubernetes API calls as WardenErrors (client.ts re-exports these). client-node 2.x throws
 * `ApiException` (`.code` = HTTP status, `.body` = the `kind: Status` JSON, undefined for 401),
 * a watch reports `.statusCode`, and the network layer (undici's fetch) throws
 * `TypeError('fetch failed')` whose `cause` carries the errno or TLS code. Recognised by shape, so
 * this module does not load client-node.
 */
import { WardenError } from '../core/errors.js';

/** client-node's ApiException, by shape: an Error with a numeric `code` and `body`/`headers` fields. */
function isApiException(err: unknown): err is Error & { code: number; body: unknown } {
  return err instanceof Error && typeof (err as { code?: unknown }).code === 'number' && 'body' in err && 'headers' in err;
}

/** The HTTP status of a failed API call (ApiException `.code`, or a watch error's `.statusCode`). */
export function httpStatusOf(err: unknown): number | undefined {
  if (isApiException(err)) return err.code;
  const statusCode = (err as { statusCode?: unknown } | null)?.statusCode;
  return typeof statusCode === 'number' ? statusCode : undefined;
}

/** The `kind: Status` body of a failed API call, when it carries one. */
export function kubeStatusOf(err: unknown): { message?: string; reason?: string; code?: number } | undefined {
  if (!isApiException(err)) return undefined;
  const body: unknown = err.body;
  try {
    const parsed: unknown = typeof body === 'string' ? JSON.parse(body) : body;
    if (typeof parsed === 'object' && parsed !== null && (parsed as { kind?: unknown }).kind === 'Status') {
      return parsed as { message?: string; reason?: string; code?: number };
    }
  } catch {
    // not JSON: no Status
  }
  return undefined;
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EPIPE',
  'CERT_HAS_EXPIRED', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'ERR_TLS_CERT_ALTNAME_INVALID',
]);

function networkReason(err: unknown): string | undefined {
  if (!(err instanceof Error)) return undefined;
  if (err.name === 'AbortError' || err.name === 'TimeoutError') return 'the request timed out';
  // undici: TypeError('fetch failed') with the socket's or TLS's error as its cause.
  const cause: unknown = err.cause;
  if (err.name === 'TypeError' && err.message === 'fetch failed') {
    return cause instanceof Error ? (networkReason(cause) ?? (cause.message || err.message)) : err.message;
  }
  const code = (err as { code?: unknown }).code;
  // An AggregateError (every address of a name refused) has code but no message.
  if (typeof code === 'string' && (NETWORK_CODES.has(code) || code.startsWith('UND_ERR_'))) return err.message || code;
  return undefined;
}

/**
 * Maps a failed API call to a WardenError; `what` says what was being done ("read Secret
 * dapr-system/dapr-trust-bundle"). 404 → ERR_KUBE_NOT_FOUND, 409 → ERR_STORE_CONFLICT,
 * 401/403 → ERR_KUBE_FORBIDDEN, other HTTP statuses → ERR_KUBE_API, network and TLS failures →
 * ERR_KUBE_UNREACHABLE. A WardenError passes through unchanged.
 */
export function kubeError(err: unknown, what: string): WardenError {
  if (err instanceof WardenError) return err;
  const status = httpStatusOf(err);
  if (status !== undefined) {
    const detail = kubeStatusOf(err)?.message ?? (err instanceof Error && !('body' in err) ? err.message : undefined);
    const said = detail ? `: ${detail}` : '';
    if (status === 404) return new WardenError('ERR_KUBE_NOT_FOUND', `cannot ${what}${said} (404); check --namespace and --context`, { cause: err });
    if (status === 409) return new WardenError('ERR_STORE_CONFLICT', `cannot ${what}${said} (409 Conflict): it changed meanwhile; read it again and redo the change`, { cause: err });
    if (status === 401) return new WardenError('ERR_KUBE_FORBIDDEN', `cannot ${what}: the API server rejected the kubeconfig's credentials (401 Unauthorized); log in again or pick another --context`, { cause: err });
    if (status === 403) return new WardenError('ERR_KUBE_FORBIDDEN', `cannot ${what}${said} (403 Forbidden); use a --context whose user is allowed to do this`, { cause: err });
    return new WardenError('ERR_KUBE_API', `cannot ${what}: the API server answered ${status}${said}; retry, or check the API server's health`, { cause: err });
  }
  const network = networkReason(err);
  if (network !== undefined) {
    return new WardenError('ERR_KUBE_UNREACHABLE', `cannot ${what}: the Kubernetes API server is unreachable (${network}); check --kubeconfig/--context and that the cluster is up`, { cause: err });
  }
  const message = err instanceof Error ? err.message : String(err);
  return new WardenError('ERR_KUBE_API', `cannot ${what}: ${message}`, { cause: err });
}

/**
 * Attempts of a read whose connection dropped. client-go retries a GET on a reset connection or an
 * early EOF (rest/request.go, IsRetryableError): an API server restarting, or a load balancer in
 * front of it closing keep-alive connections, must not fail a whole rotation. Only reads: a write
 * whose connection dropped may have been applied, and its caller decides (resourceVersion, 409).
 */
const READ_ATTEMPTS = 3;
const READ_RETRY_DELAY_MS = 100;

/** The request's connection was reset or closed before the answer (undici wraps it in `fetch failed`). */
export function isConnectionDrop(err: unknown): boolean {
  let e: unknown = err;
  for (let depth = 0; e instanceof Error && depth < 5; depth++, e = e.cause) {
    const code = (e as { code?: unknown }).code;
    if (code === 'ECONNRESET' || code === 'EPIPE' || code === 'ECONNABORTED' || code === 'UND_ERR_SOCKET') return true;
    if (/socket hang up|other side closed/.test(e.message)) return true;
  }
  return false;
}

/** `call` (a read), tried again after a dropped connection. */
async function readRetryingDrops<T>(call: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await call();
    } catch (err) {
      if (attempt >= READ_ATTEMPTS || !isConnectionDrop(err)) throw err;
      await new Promise((resolve) => setTimeout(resolve, READ_RETRY_DELAY_MS * attempt));
    }
  }
}

/** Runs one API call and maps its failure with `kubeError(err, what)`. */
export async function kubeCall<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw kubeError(err, what);
  }
}

/** A read (GET, LIST): like `kubeCall`, tried again when its connection dropped. */
export async function kubeRead<T>(what: string, call: () => Promise<T>): Promise<T> {
  return kubeCall(what, () => readRetryingDrops(call));
}

/** A read of one object: like `kubeRead`, but a 404 resolves to undefined. */
export async function kubeFind<T>(what: string, call: () => Promise<T>): Promise<T | undefined> {
  try {
    return await readRetryingDrops(call);
  } catch (err) {
    if (httpStatusOf(err) === 404) return undefined;
    throw kubeError(err, what);
  }
}
