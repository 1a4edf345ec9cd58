import type { TrustBundle } from '../../core/bundle.js';
import type { Certificate } from '../../core/certificate.js';
import { formatGoDuration } from '../../core/duration.js';
import { keyAlgorithmOf } from '../../core/keys.js';
import { DAY_MS, rfc1123 } from '../../core/thresholds.js';
import type { Io } from '../io.js';
import { formatTable, printStatus } from '../output.js';
import type { RenewBundle, RenewPlan } from './build-plan.js';
import type { CurrentBundle } from './current-bundle.js';

/** Prints what a --dry-run would do: the plan as a two-column list. Writes nothing. */
export function printRenewPlan(io: Io, plan: RenewPlan): void {
  const loc = plan.location;
  const rows: [string, string][] = [['bundle directory', loc.dir], ['source', describeSource(plan)]];
  if (plan.generated) {
    const g = plan.generated;
    const origin = g.trustDomainOrigin === 'flag' ? '' : ` (${g.trustDomainOrigin === 'default' ? 'default' : 'from the current bundle'})`;
    rows.push(['trust domain', `${g.trustDomain}${origin}`], ['namespace', g.namespace]);
    rows.push(['key algorithm', describeKeyAlgorithm(g)]);
    rows.push(['validity', `${describeValidity(g.validUntilDays)}, backdated ${formatGoDuration(g.allowedClockSkewMs)} for clock skew`]);
  }
  if (plan.bundle) {
    rows.push(['root', describeCertificate(plan.bundle.root)], ['issuer', describeCertificate(plan.bundle.issuer)]);
  }
  rows.push(['will write', `${loc.caPath}, ${loc.issuerCertPath}, ${loc.issuerKeyPath} (mode 0600, atomic)`]);
  rows.push(['backup', describeBackup(plan)]);
  rows.push(['root key', describeRootKey(plan)]);
  printStatus(io, 'info', 'Dry run: nothing was written. The plan:');
  io.stdout(indent(formatTable(['', ''], rows, false)));
}

type Generated = NonNullable<RenewBundle['generated']>;

/** `ecdsa-p256 (kept from the current bundle)`, `ed25519 (--key-algorithm; changed from ecdsa-p256)`. */
export function describeKeyAlgorithm(g: Generated): string {
  const notes = [g.keyAlgorithmOrigin ?? '--key-algorithm'];
  if (g.previousKeyAlgorithm !== undefined && g.previousKeyAlgorithm !== g.issuerKeyAlgorithm) {
    notes.push(`changed from ${g.previousKeyAlgorithm}`);
  }
  return `${g.issuerKeyAlgorithm} (${notes.join('; ')})`;
}

/** The line saying the key algorithm changes, or undefined when it does not (or there was no bundle). */
export function keyAlgorithmChange(plan: RenewBundle): string | undefined {
  const g = plan.generated;
  if (g?.previousKeyAlgorithm === undefined || g.previousKeyAlgorithm === g.issuerKeyAlgorithm) return undefined;
  const why = g.keyAlgorithmOrigin === undefined ? '--key-algorithm' : g.keyAlgorithmOrigin;
  return `The key algorithm changes from ${g.previousKeyAlgorithm} to ${g.issuerKeyAlgorithm} (${why})`;
}

/** `365 days`, or the Go duration (`1h0m0s`) when `--valid-until` was not a whole number of days. */
export function describeValidity(days: number): string {
  return Number.isInteger(days) ? `${days} day${days === 1 ? '' : 's'}` : formatGoDuration(Math.round(days * DAY_MS));
}

/**
 * Dapr's success line (spec 6.4 PostRun) with the date the new bundle really lasts to: the earlier
 * of the root's and the issuer's NotAfter (Dapr prints the root's, which overstates it when the
 * issuer ends first). When they differ, the line says which it is and gives the other date.
 */
export function renewSuccessLine(bundle: TrustBundle): string {
  const root = bundle.anchors[0] ?? bundle.root;
  const issuer = bundle.issuer;
  const through = (d: Date): string => `Certificate rotation is successful! Your new certificate is valid through ${rfc1123(d)}`;
  if (issuer.notAfter.getTime() === root.notAfter.getTime()) return through(root.notAfter);
  return issuer.notAfter < root.notAfter
    ? `${through(issuer.notAfter)} (when the issuer certificate expires; the root is valid through ${rfc1123(root.notAfter)})`
    : `${through(root.notAfter)} (when the root certificate expires; the issuer is valid through ${rfc1123(issuer.notAfter)})`;
}

/**
 * What to restart after a rotation in self-hosted mode. A sentry reloads the bundle by itself
 * (spec 4.1); daprd reads DAPR_TRUST_ANCHORS only at start (spec 3.1, 4.3), so it needs a
 * restart when the anchors changed — unless the root kept its key and subject, in which case the
 * old anchor still verifies the new issuer until that anchor expires.
 */
export function printRestartAdvice(io: Io, plan: RenewPlan, now: Date): void {
  const ca = plan.location.caPath;
  const env = `export DAPR_TRUST_ANCHORS="$(cat ${ca})"`;
  printStatus(io, 'info', `A running sentry reloads the new bundle from ${plan.location.dir} by itself; it needs no restart`);
  const change = classifyRootChange(plan, now);
  if (change.kind === 'first') {
    printStatus(io, 'info', `Start daprd processes with the new trust anchors: ${env}`);
  } else if (change.kind === 'unchanged') {
    printStatus(io, 'info', 'The trust anchors are unchanged; running daprd processes need no restart');
  } else if (change.kind === 'same-key') {
    printStatus(
      io,
      'info',
      `The root kept its key and subject, so running daprd processes keep trusting the new issuer; ` +
        `restart them before ${rfc1123(change.oldNotAfter)} (when their old root expires) with: ${env}`,
    );
  } else {
    printStatus(
      io,
      'info',
      `The root certificate changed: restart every daprd process (daprd reads DAPR_TRUST_ANCHORS only at start) with: ${env}`,
    );
  }
}

type RootChange =
  | { kind: 'first' | 'unchanged' | 'changed' }
  | { kind: 'same-key'; oldNotAfter: Date };

export function classifyRootChange(plan: RenewBundle, now: Date): RootChange {
  const current = plan.current;
  if (current.state !== 'complete' || current.anchors.length === 0 || !plan.bundle) return { kind: 'first' };
  const newAnchors = plan.bundle.anchors;
  const known = (c: Certificate): boolean => current.anchors.some((o) => o.der.equals(c.der));
  if (newAnchors.every(known)) return { kind: 'unchanged' };
  const root = plan.bundle.root;
  const sameKey = current.anchors.find(
    (o) => o.spkiDer.equals(root.spkiDer) && o.subject.der.equals(root.subject.der) && o.notAfter >= now,
  );
  return sameKey ? { kind: 'same-key', oldNotAfter: sameKey.notAfter } : { kind: 'changed' };
}

export function describeSource(plan: RenewBundle): string {
  if (plan.source === 'fresh') return 'fresh root and issuer keys';
  if (plan.source === 'private-key') return `existing root key (${plan.generated?.rootKeyAlgorithm ?? 'unknown'}), new issuer key`;
  return 'provided certificates and issuer key, installed as they are';
}

export function describeCertificate(cert: Certificate): string {
  let alg: string;
  try {
    alg = keyAlgorithmOf(cert.publicKey);
  } catch {
    alg = 'unsupported key';
  }
  const subject = cert.subject.text === '' ? '(empty subject)' : cert.subject.text;
  return `${subject}, ${alg}, valid ${cert.notBefore.toISOString()} to ${cert.notAfter.toISOString()}`;
}

function describeBackup(plan: RenewPlan): string {
  const state = plan.current.state;
  const where = `${plan.location.dir}/.backup/<UTC timestamp>/`;
  if (state === 'complete') return `the current bundle is copied to ${where} first`;
  if (state === 'partial') return `the files of the partial bundle are copied to ${where} first (--force)`;
  return 'none (there is no current bundle)';
}

export function describeRootKey(plan: RenewBundle): string {
  if (plan.source === 'provided') return 'not involved (provided certificates)';
  if (plan.rootKeyOut !== undefined) return `saved to ${plan.rootKeyOut} (PKCS#8, mode 0600)`;
  return plan.source === 'private-key'
    ? 'kept in the --private-key file'
    : 'discarded after signing (add --root-key-out FILE to keep it)';
}

export function indent(text: string): string {
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => `  ${l}\n`)
    .join('');
}

/** Says plainly when the bundle being replaced has expired or could not be read; never blocks. */
export function reportCurrentBundle(io: Io, current: CurrentBundle, now: Date): void {
  if (current.state === 'partial') {
    printStatus(io, 'warning', `Replacing a partial bundle (missing ${current.missing.join(', ')}): --force was given`);
    return;
  }
  if (current.state !== 'complete') return;
  if (current.unreadable !== undefined) {
    printStatus(io, 'warning', `The current bundle cannot be read (${current.unreadable}); it will be backed up and replaced`);
  }
  const root = current.anchors[0];
  if (root && root.notAfter < now) {
    printStatus(io, 'warning', `The current root certificate expired on ${rfc1123(root.notAfter)}; renewing replaces it`);
  }
  if (current.issuer && current.issuer.notAfter < now) {
    printStatus(io, 'warning', `The current issuer certificate expired on ${rfc1123(current.issuer.notAfter)}; renewing replaces it`);
  }
}
