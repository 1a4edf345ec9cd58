/**
 * Label and field selectors with the grammar of k8s.io/apimachinery `labels.Parse` and
 * `fields.ParseSelector`: `a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x,y)`, `a`, `!a`, `a>1`, `a<1`.
 * Parse errors throw a 400 BadRequest Status, as the API server answers.
 */
import { dig, type KubeObject } from './objects.js';
import type { ResourceType } from './resource-types.js';
import { badRequest } from './status.js';

type Operator = '=' | '!=' | 'in' | 'notin' | 'exists' | '!' | '>' | '<';

interface Requirement {
  key: string;
  op: Operator;
  values: string[];
}

export type Selector = (labels: Record<string, string> | undefined) => boolean;

const TOKEN = /\s*(\(|\)|,|!=|==|=|!|>|<|[^\s(),!=<>]+)/y;

function tokenize(text: string): string[] {
  const tokens: string[] = [];
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < text.length) {
    const m = TOKEN.exec(text);
    if (!m) {
      if (/^\s*$/.test(text.slice(TOKEN.lastIndex))) break;
      throw badRequest(`unable to parse requirement: found '${text.slice(TOKEN.lastIndex)}', expected: identifier`);
    }
    tokens.push(m[1]!);
  }
  return tokens;
}

function parseRequirements(text: string): Requirement[] {
  const tokens = tokenize(text);
  const reqs: Requirement[] = [];
  let i = 0;
  const fail = (found: string | undefined, expected: string): never => {
    throw badRequest(`unable to parse requirement: found '${found ?? ''}', expected: ${expected}`);
  };
  const isIdent = (t: string | undefined): t is string => t !== undefined && !['(', ')', ',', '!=', '==', '=', '!', '>', '<'].includes(t);
  while (i < tokens.length) {
    if (tokens[i] === '!') {
      const key = tokens[i + 1];
      if (!isIdent(key)) fail(key, 'identifier');
      reqs.push({ key: key!, op: '!', values: [] });
      i += 2;
    } else {
      const key = tokens[i];
      if (!isIdent(key)) fail(key, 'identifier');
      const op = tokens[i + 1];
      if (op === undefined || op === ',') {
        reqs.push({ key: key!, op: 'exists', values: [] });
        i += 1;
      } else if (op === '=' || op === '==' || op === '!=' || op === '>' || op === '<') {
        const value = tokens[i + 2];
        // An empty value (`a=`) is legal: the next token is then ',' or the end.
        if (value === undefined || value === ',') {
          reqs.push({ key: key!, op: op === '==' ? '=' : op, values: [''] });
          i += 2;
        } else {
          if (!isIdent(value)) fail(value, 'identifier');
          reqs.push({ key: key!, op: op === '==' ? '=' : op, values: [value] });
          i += 3;
        }
      } else if (op === 'in' || op === 'notin') {
        if (tokens[i + 2] !== '(') fail(tokens[i + 2], "'('");
        const values: string[] = [];
        let j = i + 3;
        while (tokens[j] !== ')') {
          const v = tokens[j];
          if (v === undefined) fail(undefined, "')'");
          if (v !== ',') values.push(v!);
          j += 1;
        }
        reqs.push({ key: key!, op, values });
        i = j + 1;
      } else {
        fail(op, "'=', '!=', '==', 'in', notin'");
      }
    }
    if (i < tokens.length) {
      if (tokens[i] !== ',') fail(tokens[i], "','");
      i += 1;
    }
  }
  return reqs;
}

function matches(req: Requirement, labels: Record<string, string>): boolean {
  const has = Object.hasOwn(labels, req.key);
  const value = labels[req.key];
  switch (req.op) {
    case 'exists': return has;
    case '!': return !has;
    case '=': return has && value === req.values[0];
    case '!=': return !has || value !== req.values[0];
    case 'in': return has && req.values.includes(value!);
    case 'notin': return !has || !req.values.includes(value!);
    case '>': return has && Number(value) > Number(req.values[0]);
    case '<': return has && Number(value) < Number(req.values[0]);
  }
}

/** Parses a `labelSelector` query value; empty means "everything". */
export function parseLabelSelector(text: string | null | undefined): Selector {
  if (!text) return () => true;
  const reqs = parseRequirements(text);
  return (labels) => reqs.every((r) => matches(r, labels ?? {}));
}

// Field labels each type supports beyond metadata.name / metadata.namespace (the registry's field label conversion funcs).
const EXTRA_FIELDS: Record<string, Record<string, readonly string[]>> = {
  secrets: { type: ['type'] },
  pods: {
    'spec.nodeName': ['spec', 'nodeName'], 'spec.serviceAccountName': ['spec', 'serviceAccountName'],
    'spec.restartPolicy': ['spec', 'restartPolicy'], 'spec.schedulerName': ['spec', 'schedulerName'],
    'status.phase': ['status', 'phase'], 'status.podIP': ['status', 'podIP'],
  },
  namespaces: { 'status.phase': ['status', 'phase'] },
};

export type ObjectPredicate = (obj: KubeObject) => boolean;

/** Parses a `fieldSelector`; unsupported labels fail like the server: `field label not supported: x`. */
export function parseFieldSelector(t: ResourceType, text: string | null | undefined): ObjectPredicate {
  if (!text) return () => true;
  const terms = text.split(',').filter((s) => s.trim() !== '').map((term) => {
    const m = /^\s*([^=!\s]+)\s*(==|=|!=)\s*(.*?)\s*$/.exec(term);
    if (!m) throw badRequest(`invalid selector: '${text}'; can't understand '${term}'`);
    const [, field, op, value] = m as unknown as [string, string, string, string];
    let path: readonly string[];
    if (field === 'metadata.name') path = ['metadata', 'name'];
    else if (field === 'metadata.namespace') path = ['metadata', 'namespace'];
    else if (!t.custom && EXTRA_FIELDS[t.plural]?.[field]) path = EXTRA_FIELDS[t.plural]![field]!;
    else throw badRequest(`field label not supported: ${field}`);
    return { path, negate: op === '!=', value };
  });
  return (obj) => terms.every(({ path, negate, value }) => {
    const actual = dig(obj, ...path);
    const text = actual === undefined || actual === null ? '' : String(actual);
    return negate ? text !== value : text === value;
  });
}
