/**
 * Validation with the real server's field paths and messages (k8s.io/apimachinery validation,
 * pkg/apis/core/validation, pkg/apis/apps/validation), for the rules a client of these types can
 * realistically break: names, label/annotation syntax, Secret/ConfigMap keys, sizes and base64,
 * workload selectors and templates. Returns causes; the caller turns them into a 422.
 */
import { canonicalJson, dig, isJsonObject, type KubeObject } from './objects.js';
import type { ResourceType } from './resource-types.js';
import { badRequest, type StatusCause } from './status.js';

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const CONFIG_KEY = /^[-._a-zA-Z0-9]+$/;
const MAX_SECRET_BYTES = 1024 * 1024;

const SUBDOMAIN_MSG = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const LABEL_MSG = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const NAME_PART_MSG = "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const LABEL_VALUE_MSG = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
const CONFIG_KEY_MSG = "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')";

const invalidValue = (field: string, value: unknown, detail: string): StatusCause =>
  ({ reason: 'FieldValueInvalid', field, message: `Invalid value: ${JSON.stringify(value)}: ${detail}` });
const required = (field: string, detail = ''): StatusCause =>
  ({ reason: 'FieldValueRequired', field, message: detail ? `Required value: ${detail}` : 'Required value' });

function checkName(t: ResourceType, name: string | undefined, causes: StatusCause[]): void {
  if (!name) {
    causes.push(required('metadata.name', 'name or generateName is required'));
    return;
  }
  if (t.plural === 'namespaces') {
    if (!DNS1123_LABEL.test(name) || name.length > 63) causes.push(invalidValue('metadata.name', name, LABEL_MSG));
  } else if (!DNS1123_SUBDOMAIN.test(name) || name.length > 253) {
    causes.push(invalidValue('metadata.name', name, SUBDOMAIN_MSG));
  }
}

function checkQualifiedKey(field: string, key: string, causes: StatusCause[]): void {
  const slash = key.lastIndexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined && (!DNS1123_SUBDOMAIN.test(prefix) || prefix.length > 253)) {
    causes.push(invalidValue(field, key, `prefix part ${SUBDOMAIN_MSG}`));
  }
  if (name.length === 0 || name.length > 63 || !QUALIFIED_NAME.test(name)) {
    causes.push(invalidValue(field, key, name.length > 63 ? 'name part must be no more than 63 characters' : NAME_PART_MSG));
  }
}

function checkMetadataMaps(obj: KubeObject, prefix: string, causes: StatusCause[]): void {
  for (const [key, value] of Object.entries(obj.metadata.labels ?? {})) {
    checkQualifiedKey(`${prefix}metadata.labels`, key, causes);
    if (typeof value !== 'string' || value.length > 63 || !LABEL_VALUE.test(value)) {
      const detail = typeof value === 'string' && value.length > 63 ? 'must be no more than 63 characters' : LABEL_VALUE_MSG;
      causes.push(invalidValue(`${prefix}metadata.labels`, value, detail));
    }
  }
  for (const key of Object.keys(obj.metadata.annotations ?? {})) checkQualifiedKey(`${prefix}metadata.annotations`, key, causes);
}

/** Checks keys and returns the payload size (decoded size for base64 maps). */
function checkConfigKeys(field: string, map: unknown, causes: StatusCause[], base64 = false): number {
  if (map === undefined || map === null) return 0;
  if (!isJsonObject(map)) throw badRequest(`${field} must be a map of strings`);
  let bytes = 0;
  for (const [key, value] of Object.entries(map)) {
    if (!CONFIG_KEY.test(key) || key.length > 253) causes.push(invalidValue(`${field}[${key}]`, key, CONFIG_KEY_MSG));
    if (typeof value !== 'string') throw badRequest(`${field}[${key}] must be a string`);
    bytes += base64 ? Buffer.from(value, 'base64').length : Buffer.byteLength(value);
  }
  return bytes;
}

/** Where Go's strict base64 decoder (CR/LF ignored) would fail, or undefined for valid input. */
function base64ErrorOffset(value: string): number | undefined {
  const text = value.replace(/[\r\n]/g, '');
  const badChar = /[^A-Za-z0-9+/=]/.exec(text);
  if (badChar) return badChar.index;
  const pad = text.indexOf('=');
  if (pad >= 0 && (!/^={1,2}$/.test(text.slice(pad)) || text.length % 4 !== 0)) return pad;
  if (text.length % 4 !== 0) return text.length - (text.length % 4);
  return undefined;
}

/** Throws the 400 the server's decoder gives for a value that is not base64. */
function checkBase64(t: ResourceType, map: unknown): void {
  if (!isJsonObject(map)) return;
  for (const value of Object.values(map)) {
    if (typeof value !== 'string') continue;
    const offset = base64ErrorOffset(value);
    if (offset !== undefined) {
      throw badRequest(`${t.kind} in version "v1" cannot be handled as a ${t.kind}: illegal base64 data at input byte ${offset}`);
    }
  }
}

function checkWorkload(obj: KubeObject, old: KubeObject | undefined, causes: StatusCause[]): void {
  const selector = dig(obj, 'spec', 'selector');
  const matchLabels = dig(selector, 'matchLabels');
  if (!isJsonObject(selector) || (!isJsonObject(matchLabels) && !Array.isArray(dig(selector, 'matchExpressions')))) {
    causes.push(required('spec.selector'));
  } else if (isJsonObject(matchLabels)) {
    const labels = (dig(obj, 'spec', 'template', 'metadata', 'labels') ?? {}) as Record<string, unknown>;
    if (!Object.entries(matchLabels).every(([k, v]) => labels[k] === v)) {
      causes.push(invalidValue('spec.template.metadata.labels', labels, '`selector` does not match template `labels`'));
    }
  }
  const containers = dig(obj, 'spec', 'template', 'spec', 'containers');
  if (!Array.isArray(containers) || containers.length === 0) causes.push(required('spec.template.spec.containers'));
  if (old && canonicalJson(dig(old, 'spec', 'selector')) !== canonicalJson(selector)) {
    causes.push(invalidValue('spec.selector', selector, 'field is immutable'));
  }
}

/** The MicroTime layout the real server decodes `renewTime`/`acquireTime` with (a bad one is a 400). */
const MICRO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

/** pkg/apis/coordination/validation ValidateLeaseSpec, and MicroTime decoding. */
function checkLease(obj: KubeObject, causes: StatusCause[]): void {
  const spec = isJsonObject(obj.spec) ? obj.spec : {};
  for (const field of ['acquireTime', 'renewTime'] as const) {
    const value = spec[field];
    if (value !== undefined && value !== null && (typeof value !== 'string' || !MICRO_TIME.test(value))) {
      throw badRequest(`Lease in version "v1" cannot be handled as a Lease: parsing time ${JSON.stringify(String(value))} as "2006-01-02T15:04:05.000000Z07:00": cannot parse`);
    }
  }
  const duration = spec.leaseDurationSeconds;
  if (duration !== undefined && duration !== null && (typeof duration !== 'number' || duration <= 0)) {
    causes.push(invalidValue('spec.leaseDurationSeconds', duration, 'must be greater than 0'));
  }
  const transitions = spec.leaseTransitions;
  if (transitions !== undefined && transitions !== null && (typeof transitions !== 'number' || transitions < 0)) {
    causes.push(invalidValue('spec.leaseTransitions', transitions, 'must be greater than or equal to 0'));
  }
}

/** pkg/apis/core/validation ValidateEventCreate (core/v1): the involved object lives in the Event's namespace. */
function checkEvent(obj: KubeObject, causes: StatusCause[]): void {
  const involved = isJsonObject(obj.involvedObject) ? obj.involvedObject : {};
  const ns = involved.namespace;
  if (typeof ns === 'string' && ns !== '' && ns !== obj.metadata.namespace) {
    causes.push(invalidValue('involvedObject.namespace', ns, 'does not match event.namespace'));
  }
}

/** Field causes for a write of `obj` (with `old` on update); 400s for undecodable bodies are thrown. */
export function validateObject(t: ResourceType, obj: KubeObject, old?: KubeObject): StatusCause[] {
  const causes: StatusCause[] = [];
  checkName(t, obj.metadata.name, causes);
  checkMetadataMaps(obj, '', causes);
  if (t.plural === 'secrets') {
    checkBase64(t, obj.data);
    const bytes = checkConfigKeys('data', obj.data, causes, true);
    if (bytes > MAX_SECRET_BYTES) causes.push({ reason: 'FieldValueTooLong', field: 'data', message: `Too long: must have at most ${MAX_SECRET_BYTES} bytes` });
    if (old && old.type !== obj.type) causes.push(invalidValue('type', obj.type, 'field is immutable'));
    if (old && old.immutable === true && (canonicalJson(old.data) !== canonicalJson(obj.data) || obj.immutable !== true)) {
      causes.push({ reason: 'FieldValueForbidden', field: 'data', message: 'Forbidden: field is immutable when `immutable` is set' });
    }
  } else if (t.plural === 'configmaps') {
    checkBase64(t, obj.binaryData);
    const bytes = checkConfigKeys('data', obj.data, causes) + checkConfigKeys('binaryData', obj.binaryData, causes, true);
    if (bytes > MAX_SECRET_BYTES) causes.push({ reason: 'FieldValueTooLong', field: '', message: `Too long: must have at most ${MAX_SECRET_BYTES} bytes` });
  } else if (t.plural === 'pods') {
    const containers = dig(obj, 'spec', 'containers');
    if (!Array.isArray(containers) || containers.length === 0) causes.push(required('spec.containers'));
  } else if (t.plural === 'leases') {
    checkLease(obj, causes);
  } else if (t.plural === 'events') {
    checkEvent(obj, causes);
  } else if (t.group === 'apps') {
    checkWorkload(obj, old, causes);
    const template = dig(obj, 'spec', 'template');
    if (isJsonObject(template) && isJsonObject(template.metadata)) checkMetadataMaps(template as KubeObject, 'spec.template.', causes);
  }
  return causes;
}
