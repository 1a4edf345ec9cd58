/**
 * Why `request-cert` failed when the reason is an expired certificate (issue 13, rough edge 5).
 * Without this, an expired bundle surfaces as a TLS failure ("does not chain to the trust anchors
 * (certificate has expired); check --control-plane-trust-domain …") that blames the trust domain
 * or stale anchors, long before the sentry's documented FAILED_PRECONDITION. Here the dates are
 * read (the anchors file, then the chain the sentry serves) and the error names the certificate
 * that expired and the command that fixes it (checks/remedies.ts, as verify and doctor say).
 */
import { X509Certificate } from 'node:crypto';
import * as tls from 'node:tls';
import type { Certificate } from '../core/certificate.js';
import { remedySentence } from '../core/checks/remedies.js';
import { isWardenError, WardenError } from '../core/errors.js';
import { goTimeString } from '../core/thresholds.js';

/** ERR_ROOT_EXPIRED when every anchor in the file has expired: no chain can verify against them. */
export function assertAnchorsUsable(anchors: readonly Certificate[], path: string, now: Date): void {
  if (anchors.length === 0 || anchors.some((a) => a.notAfter.getTime() >= now.getTime())) return;
  const latest = anchors.reduce((a, b) => (b.notAfter > a.notAfter ? b : a));
  throw new WardenError(
    'ERR_ROOT_EXPIRED',
    `the trust anchors in ${path} have expired (the last one, ${latest.subject.text || '(empty subject)'}, at ${goTimeString(latest.notAfter)}), ` +
      `so no sentry can be trusted with them. ${remedySentence('ERR_ROOT_EXPIRED', 'on the sentry\'s bundle')}, then pass its new ca.crt`,
  );
}

/**
 * When `error` is the client's TLS refusal because a served certificate expired, an
 * ERR_ISSUER_EXPIRED naming it (read from the chain the sentry serves); otherwise undefined.
 */
export async function explainExpiredSentry(error: unknown, address: string, now: Date): Promise<WardenError | undefined> {
  if (!isWardenError(error, 'ERR_SENTRY_IDENTITY') || !/certificate has expired/i.test(error.message)) return undefined;
  const expired = await expiredServedCertificate(address, now).catch(() => undefined);
  const what = expired
    ? `${expired.subject} expired at ${goTimeString(expired.notAfter)}`
    : 'a certificate in its chain has expired';
  return new WardenError(
    'ERR_ISSUER_EXPIRED',
    `the sentry at ${address} serves an expired certificate chain (${what}): its issuer has expired, so it cannot sign ` +
      `certificates either. ${remedySentence('ERR_ISSUER_EXPIRED', 'on the sentry\'s bundle')}; a running sentry reloads it by itself`,
    { cause: error },
  );
}

/** Connects without verifying and returns the first certificate of the served chain that has expired. */
function expiredServedCertificate(address: string, now: Date): Promise<{ subject: string; notAfter: Date } | undefined> {
  const colon = address.lastIndexOf(':');
  const host = address.slice(0, colon).replace(/^\[|\]$/g, '');
  const port = Number(address.slice(colon + 1));
  return new Promise((resolve, reject) => {
    // Only dates are read from this unverified connection; nothing is sent over it.
    const socket = tls.connect({ host, port, servername: 'dapr-sentry', ALPNProtocols: ['h2'], rejectUnauthorized: false, timeout: 5_000 }, () => {
      try {
        const chain: X509Certificate[] = [];
        const seen = new Set<string>();
        for (let c: tls.DetailedPeerCertificate | undefined = socket.getPeerCertificate(true); c?.raw && !seen.has(c.fingerprint256); c = c.issuerCertificate) {
          seen.add(c.fingerprint256);
          chain.push(new X509Certificate(c.raw));
        }
        const found = chain.find((c) => new Date(c.validTo).getTime() < now.getTime());
        resolve(found ? { subject: describeSubject(found), notAfter: new Date(found.validTo) } : undefined);
      } catch (error) {
        reject(error instanceof Error ? error : new Error(String(error)));
      } finally {
        socket.destroy();
      }
    });
    socket.on('timeout', () => socket.destroy(new Error('timed out')));
    socket.on('error', reject);
  });
}

function describeSubject(cert: X509Certificate): string {
  // Node leaves `subject` undefined for an empty subject (every Dapr leaf has one).
  const subject = (cert.subject as string | undefined)?.replace(/\n/g, ', ') ?? '';
  if (subject !== '') return `the certificate ${subject}`;
  const uri = /URI:([^,\s]+)/.exec(cert.subjectAltName ?? '')?.[1];
  return uri ? `the serving certificate ${uri}` : 'the serving certificate';
}
