import { parseCertificatesPem, type Certificate } from '../../core/certificate.js';
import type { BundleTexts } from '../../core/bundle-texts.js';
import type { BundleStore } from '../deps.js';

/**
 * The bundle renew-certificate is about to replace, read only as far as renewing needs: its
 * anchors (to tell whether the root changes) and its root and issuer certificates (trust domain,
 * expiry). A bundle that does not parse is still "complete" — renewing is the way out of it.
 */
export type CurrentBundle =
  | { state: 'absent' }
  | { state: 'partial'; present: string[]; missing: string[] }
  | {
      state: 'complete';
      version: string;
      texts: BundleTexts;
      anchors: Certificate[];
      issuer: Certificate | undefined;
      /** Why ca.crt or issuer.crt could not be read, if so. */
      unreadable: string | undefined;
    };

export async function inspectCurrentBundle(store: BundleStore): Promise<CurrentBundle> {
  const result = await store.read();
  if (result.state !== 'complete') return result;
  const problems: string[] = [];
  const anchors = tryParse(result.texts.ca, problems);
  const issuer = tryParse(result.texts.issuerCert, problems)[0];
  return {
    state: 'complete',
    version: result.version,
    texts: result.texts,
    anchors,
    issuer,
    unreadable: problems.length > 0 ? problems.join('; ') : undefined,
  };
}

function tryParse(pem: string, problems: string[]): Certificate[] {
  try {
    return parseCertificatesPem(pem);
  } catch (error) {
    problems.push(error instanceof Error ? error.message : String(error));
    return [];
  }
}

// A SPIFFE trust domain: lowercase letters, digits, '.', '-' and '_' (SPIFFE ID spec §2.1).
const TRUST_DOMAIN = /^[a-z0-9._-]+$/;

/**
 * The trust domain the current bundle was made for: the root's subject when it is exactly
 * `O=<trust domain>` (what Dapr's sentry and CLI generate, spec 2.1), else the trust domain of the
 * issuer subject's SPIFFE ID `O=spiffe://<td>/ns/<ns>/dapr-sentry` (spec 2.2); undefined if neither.
 */
export function trustDomainOfBundle(current: CurrentBundle): string | undefined {
  if (current.state !== 'complete') return undefined;
  const rootO = /^O=(.+)$/.exec(current.anchors[0]?.subject.text ?? '')?.[1];
  if (rootO !== undefined && TRUST_DOMAIN.test(rootO)) return rootO;
  const spiffe = /^O=spiffe:\/\/([^/]+)\//.exec(current.issuer?.subject.text ?? '')?.[1];
  if (spiffe !== undefined && TRUST_DOMAIN.test(spiffe)) return spiffe;
  return undefined;
}
