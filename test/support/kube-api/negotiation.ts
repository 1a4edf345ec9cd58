/**
 * Response content negotiation as the API server does it for the JSON cases: plain objects, or
 * metadata only (`Accept: application/json;as=PartialObjectMetadata[List];g=meta.k8s.io;v=v1`,
 * what metadata informers ask for). Protobuf, CBOR and server-side Tables are not produced:
 * clients list `application/json` or `*\/*` after them (kubectl and client-go do) and get JSON.
 */
import type { KubeList } from './kube-api.js';
import type { KubeObject } from './objects.js';
import { KubeStatusError, statusBody } from './status.js';

export type ResponseForm = 'object' | 'metadata';

interface MediaRange {
  type: string;
  params: Record<string, string>;
}

function parseAccept(header: string): MediaRange[] {
  return header.split(',').map((part) => {
    const [type = '', ...rest] = part.split(';').map((s) => s.trim());
    const params = Object.fromEntries(rest.map((p) => p.split('=').map((s) => s.trim()) as [string, string]));
    return { type: type.toLowerCase(), params };
  }).filter((r) => r.type !== '');
}

/** The form to answer in; throws 406 when the client accepts nothing this server produces. */
export function negotiate(accept: string | undefined, verb: string): ResponseForm {
  if (!accept) return 'object';
  for (const range of parseAccept(accept)) {
    const json = range.type === 'application/json' || range.type === '*/*' || range.type === 'application/*';
    if (!json) continue;
    const as = range.params.as;
    if (as === undefined) return 'object';
    const metadataVersion = range.params.g === 'meta.k8s.io' && (range.params.v === 'v1' || range.params.v === 'v1beta1');
    if (metadataVersion && ['get', 'list', 'watch'].includes(verb) && (as === 'PartialObjectMetadata' || as === 'PartialObjectMetadataList')) {
      return 'metadata';
    }
  }
  throw new KubeStatusError(statusBody(406, 'NotAcceptable',
    'the server was unable to respond with a content type that the client supports: only application/json (objects and PartialObjectMetadata) is served here'));
}

export function toPartial(obj: KubeObject): KubeObject {
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: obj.metadata };
}

export function toPartialList(list: KubeList): KubeList {
  return { kind: 'PartialObjectMetadataList', apiVersion: 'meta.k8s.io/v1', metadata: list.metadata, items: list.items.map(toPartial) };
}
