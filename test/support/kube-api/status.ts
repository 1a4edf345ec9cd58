/**
 * `kind: Status` bodies with the shapes, reasons and messages of the real API server
 * (k8s.io/apimachinery/pkg/api/errors), and an error class that carries one to the HTTP layer.
 */
import { qualifiedResource, type ResourceType } from './resource-types.js';

export interface StatusCause {
  reason?: string;
  message: string;
  field?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

export interface StatusBody {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Success' | 'Failure';
  message?: string;
  reason?: string;
  details?: StatusDetails;
  code: number;
}

export function statusBody(code: number, reason: string, message: string, details?: StatusDetails): StatusBody {
  const body: StatusBody = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
  if (details) body.details = details;
  return body;
}

/** Thrown by handlers and the in-process API; the HTTP layer writes `status` with `status.code`. */
export class KubeStatusError extends Error {
  constructor(readonly status: StatusBody, readonly headers: Record<string, string> = {}) {
    super(status.message);
    this.name = 'KubeStatusError';
  }

  get code(): number {
    return this.status.code;
  }
}

function details(t: ResourceType, name: string): StatusDetails {
  return t.group ? { name, group: t.group, kind: t.plural } : { name, kind: t.plural };
}

export function notFound(t: ResourceType, name: string): KubeStatusError {
  return new KubeStatusError(statusBody(404, 'NotFound', `${qualifiedResource(t)} "${name}" not found`, details(t, name)));
}

export function alreadyExists(t: ResourceType, name: string): KubeStatusError {
  return new KubeStatusError(statusBody(409, 'AlreadyExists', `${qualifiedResource(t)} "${name}" already exists`, details(t, name)));
}

export const CONFLICT_SUFFIX = 'the object has been modified; please apply your changes to the latest version and try again';

export function conflict(t: ResourceType, name: string, why = CONFLICT_SUFFIX): KubeStatusError {
  return new KubeStatusError(statusBody(409, 'Conflict', `Operation cannot be fulfilled on ${qualifiedResource(t)} "${name}": ${why}`, details(t, name)));
}

/** 422 with field causes; the message joins them as the real server does. */
export function invalid(t: ResourceType, name: string, causes: StatusCause[]): KubeStatusError {
  const list = causes.map((c) => (c.field ? `${c.field}: ${c.message}` : c.message));
  const joined = list.length === 1 ? list[0]! : `[${list.join(', ')}]`;
  const d: StatusDetails = t.group ? { name, group: t.group, kind: t.kind, causes } : { name, kind: t.kind, causes };
  return new KubeStatusError(statusBody(422, 'Invalid', `${t.kind} "${name}" is invalid: ${joined}`, d));
}

export function badRequest(message: string): KubeStatusError {
  return new KubeStatusError(statusBody(400, 'BadRequest', message));
}

export function forbidden(t: ResourceType, name: string, why: string): KubeStatusError {
  return new KubeStatusError(statusBody(403, 'Forbidden', `${qualifiedResource(t)} "${name}" is forbidden: ${why}`, details(t, name)));
}

export function unauthorized(): KubeStatusError {
  return new KubeStatusError(statusBody(401, 'Unauthorized', 'Unauthorized'));
}

export function methodNotAllowed(): KubeStatusError {
  return new KubeStatusError(statusBody(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource'));
}

export function resourceNotFound(): KubeStatusError {
  return new KubeStatusError(statusBody(404, 'NotFound', 'the server could not find the requested resource', {}));
}

export function unsupportedMediaType(contentType: string, accepted: readonly string[]): KubeStatusError {
  return new KubeStatusError(statusBody(415, 'UnsupportedMediaType',
    `the body of the request was in an unknown format - accepted media types include: ${accepted.join(', ')}`,
    { causes: [{ reason: 'UnsupportedMediaType', message: contentType }] }));
}

export function internalError(message: string, code = 500): KubeStatusError {
  if (code === 500) {
    return new KubeStatusError(statusBody(500, 'InternalError', `Internal error occurred: ${message}`, { causes: [{ message }] }));
  }
  const reason = code === 503 ? 'ServiceUnavailable' : code === 429 ? 'TooManyRequests' : code === 504 ? 'Timeout' : 'InternalError';
  return new KubeStatusError(statusBody(code, reason, message), code === 429 ? { 'Retry-After': '1' } : {});
}

export function expired(message: string): KubeStatusError {
  return new KubeStatusError(statusBody(410, 'Expired', message));
}

/** The body of a successful DELETE for types that do not return the deleted object. */
export function deleteSuccess(t: ResourceType, name: string, uid: string | undefined): Omit<StatusBody, 'message' | 'reason' | 'code'> {
  const d = details(t, name);
  if (uid) d.uid = uid;
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: d };
}
