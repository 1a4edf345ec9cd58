/**
 * How findings name the parts of a bundle (`Finding.subject`) and phrase times, so every check says
 * it the same way. Subjects: `root O=cluster.local` (`root#2 O=…` when ca.crt holds several
 * anchors), `issuer`, `intermediate#1 O=…` (the n-th certificate above the issuer in issuer.crt),
 * `issuer.key`, `bundle`.
 */
import type { TrustBundle } from '../bundle.js';
import type { Certificate } from '../certificate.js';
import { formatGoDuration } from '../duration.js';
import { daysAndHoursLeft, DAY_MS, goTimeString } from '../thresholds.js';

/** A DN for prose: its text, or `(empty subject)`. */
export function describeName(cert: Certificate): string {
  return cert.subject.text === '' ? '(empty subject)' : cert.subject.text;
}

function withName(label: string, cert: Certificate): string {
  return cert.subject.text === '' ? label : `${label} ${cert.subject.text}`;
}

/** Subject of the `index`-th trust anchor in ca.crt. */
export function anchorSubject(bundle: TrustBundle, index: number): string {
  const cert = bundle.anchors[index] as Certificate;
  return withName(bundle.anchors.length > 1 ? `root#${index + 1}` : 'root', cert);
}

/** Subject of the `index`-th certificate of issuer.crt (0 is the issuer itself). */
export function chainSubject(bundle: TrustBundle, index: number): string {
  if (index === 0) return 'issuer';
  return withName(`intermediate#${index}`, bundle.issuerChain[index] as Certificate);
}

/** A duration for prose: `29 days and 23 hours` from a day up, Go style (`5h59m59s`) below. */
export function describeDuration(ms: number): string {
  const abs = Math.abs(ms);
  if (abs >= DAY_MS) {
    const { days, hours } = daysAndHoursLeft(abs);
    return `${days} day${days === 1 ? '' : 's'} and ${hours} hour${hours === 1 ? '' : 's'}`;
  }
  return formatGoDuration(Math.trunc(abs / 1000) * 1000);
}

/** An instant for prose, as Go prints it (`2025-12-06 18:14:20 +0000 UTC`). */
export function describeTime(d: Date): string {
  return goTimeString(d);
}
