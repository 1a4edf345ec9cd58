/**
 * How the rollout code reads Kubernetes API failures: the HTTP status, whether waiting and
 * trying again can help (5xx, 429, a dropped connection), and a one-line description with the
 * API server's own message (the `kind: Status` body) for error messages.
 */

/** client-node's ApiException, recognised by shape so this module need not load client-node. */
interface ApiExceptionLike {
  code: number;
  body: unknown;
  headers: unknown;
}

function isApiException(err: unknown): err is ApiExceptionLike {
  return err instanceof Error && typeof (err as Partial<ApiExceptionLike>).code === 'number' && 'body' in err && 'headers' in err;
}

/** The HTTP status of a failed call: ApiException `.code`, or a watch error's `.statusCode`. */
export function httpStatusOf(err: unknown): number | undefined {
  if (isApiException(err)) return err.code;
  const statusCode = (err as { statusCode?: unknown } | null)?.statusCode;
  return typeof statusCode === 'number' ? statusCode : undefined;
}

/** True when the same call may succeed later: server errors, throttling, network failures. */
export function isTransient(err: unknown): boolean {
  const status = httpStatusOf(err);
  // undici reports every network failure (reset, refused, timed out) as TypeError('fetch failed'); other TypeErrors are bugs.
  if (status === undefined) return isNetworkFailure(err) || !(err instanceof TypeError || err instanceof RangeError);
  return status >= 500 || status === 429;
}

function isNetworkFailure(err: unknown): boolean {
  return err instanceof TypeError && err.message === 'fetch failed';
}

/** `HTTP 500: Internal error occurred: …` (the Status message when there is one), or the error's message. */
export function describeApiError(err: unknown): string {
  const status = httpStatusOf(err);
  if (status === undefined) return err instanceof Error ? err.message : String(err);
  const message = statusMessageOf(err);
  return message ? `HTTP ${status}: ${message}` : `HTTP ${status}`;
}

function statusMessageOf(err: unknown): string | undefined {
  if (!isApiException(err)) return undefined;
  const body: unknown = err.body;
  try {
    const parsed: unknown = typeof body === 'string' ? JSON.parse(body) : body;
    const message = (parsed as { message?: unknown } | null)?.message;
    return typeof message === 'string' && message !== '' ? message : undefined;
  } catch {
    return typeof body === 'string' && body.trim() !== '' ? body.trim().slice(0, 200) : undefined;
  }
}
