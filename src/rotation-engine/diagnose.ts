/**
 * `warden mtls doctor`'s reasoning, pure: from what was observed (the bundle, its backups, the
 * rotation journal, a running sentry, anchors files workloads read) to diagnoses and an ordered
 * list of fixes. The CLI gathers the facts and turns fixes into exact command lines; the
 * Kubernetes half can feed the same function with its own facts and render `-k` commands.
 */
import { describeStarter } from '../core/rotation-phases/started-by.js';
import type { TrustBundle } from '../core/bundle.js';
import type { BundleTexts } from '../core/bundle-texts.js';
import type { Certificate } from '../core/certificate.js';
import { describeTime } from '../core/checks/labels.js';
import type { Finding } from '../core/checks/index.js';
import { nextStep } from '../core/rotation-phases/schedule.js';
import type { RotationRecord } from '../core/rotation-phases/record.js';
import type { Restorable } from './rollback.js';
import { compareWithBundle, type ProbeResult } from './sentry-compare.js';

export type BundleFact =
  | { state: 'absent' }
  | { state: 'partial'; present: string[]; missing: string[] }
  | { state: 'unreadable'; message: string }
  | { state: 'complete'; bundle: TrustBundle; texts: BundleTexts; findings: Finding[] };

export interface BackupFact {
  name: string;
  restorable: Restorable;
}

export interface RotationFact {
  record?: RotationRecord;
  /** The journal exists but cannot be read. */
  invalid?: string;
  /** Who runs a rotation right now, if anyone. */
  running?: string;
  /** Whether the store holds what the unfinished rotation left there. */
  storeMatches?: boolean;
}

export interface SentryFact {
  address: string;
  result: ProbeResult;
}

export interface HealthFact {
  url: string;
  status?: number;
  body?: string;
  error?: string;
}

export interface AnchorsFileFact {
  path: string;
  anchors?: readonly Certificate[];
  error?: string;
}

export interface DoctorFacts {
  now: Date;
  bundle: BundleFact;
  /** Newest first. */
  backups: BackupFact[];
  rotation: RotationFact;
  sentry?: SentryFact;
  health?: HealthFact;
  anchorsFiles: AnchorsFileFact[];
}

export type Severity = 'error' | 'warning' | 'info';

export interface Diagnosis {
  /** Stable id, e.g. `root-expired`, `sentry-stale` (docs/operations.md lists them). */
  id: string;
  severity: Severity;
  message: string;
}

export type FixStep =
  | { kind: 'wait-rotation'; holder: string }
  | { kind: 'resume' }
  | { kind: 'rollback'; backup?: string; force?: boolean }
  | { kind: 'renew'; force?: boolean }
  | { kind: 'rotate' }
  | { kind: 'start-sentry'; port?: number }
  | { kind: 'restart-sentry'; port?: number }
  | { kind: 'copy-anchors'; to: string }
  | { kind: 'restart-daprd' }
  /** Cluster: write the Secret's ca.crt into the ConfigMap. */
  | { kind: 'copy-configmap' }
  /** Cluster: restart these Dapr apps (`deployment/name`, …) in `namespace`. */
  | { kind: 'restart-apps'; namespace: string; workloads: string[] };

/** Tie-break between fixes that do not depend on each other: the usual order. */
const USUAL_ORDER: FixStep['kind'][] = [
  'wait-rotation', 'rollback', 'renew', 'rotate', 'copy-configmap', 'start-sentry', 'restart-sentry', 'copy-anchors', 'restart-daprd', 'restart-apps', 'resume',
];
/** Fixes that bring workloads' trust anchors up to date with ca.crt. */
const ANCHOR_FIXES = new Set<FixStep['kind']>(['copy-anchors', 'restart-daprd', 'copy-configmap', 'restart-apps']);
const BUNDLE_FIXES = new Set<FixStep['kind']>(['rollback', 'renew', 'rotate']);
const SENTRY_FIXES = new Set<FixStep['kind']>(['start-sentry', 'restart-sentry']);

/**
 * `before(a, b)`: fix `a` must run before `b`, from what each does and where the rotation stands.
 *  - a running rotation is waited for before anything else;
 *  - the bundle is repaired (rollback, renew, rotate) before anything reads it: the sentry, anchors
 *    copies, restarts;
 *  - anchors are copied (file, ConfigMap) before what reads them restarts;
 *  - `rotate --resume` moves on to switching the issuer: once ca.crt holds the new root (add-anchor
 *    written), every workload must trust it first, so the anchor fixes go before it, and a running
 *    sentry too (the rotation confirms each phase with it). Before add-anchor, resuming first is
 *    what changes ca.crt, so the anchor fixes follow it.
 */
function dependencies(facts: DoctorFacts): (a: FixStep, b: FixStep) => boolean {
  const newRootInStore = rotationWroteNewRoot(facts);
  return (a, b) => {
    if (a.kind === 'wait-rotation') return b.kind !== 'wait-rotation';
    if (BUNDLE_FIXES.has(a.kind)) return SENTRY_FIXES.has(b.kind) || ANCHOR_FIXES.has(b.kind);
    if (a.kind === 'copy-anchors') return b.kind === 'restart-daprd';
    if (a.kind === 'copy-configmap') return b.kind === 'restart-apps' || SENTRY_FIXES.has(b.kind);
    if (b.kind === 'resume') return newRootInStore ? ANCHOR_FIXES.has(a.kind) || SENTRY_FIXES.has(a.kind) : false;
    if (a.kind === 'resume') return !newRootInStore && ANCHOR_FIXES.has(b.kind);
    return false;
  };
}

/** Whether the unfinished rotation has written add-anchor (ca.crt holds the new root). */
function rotationWroteNewRoot(facts: DoctorFacts): boolean {
  const record = facts.rotation.record;
  if (record === undefined || record.status !== 'in-progress') return false;
  return record.phases['add-anchor'].writtenAt !== undefined || record.phases['switch-issuer'].writtenAt !== undefined;
}

/** Orders `steps` so every dependency runs first; independent ones keep the usual order. */
export function orderFixes(steps: FixStep[], facts: DoctorFacts): FixStep[] {
  const before = dependencies(facts);
  const left = dedupe(steps).sort((a, b) => USUAL_ORDER.indexOf(a.kind) - USUAL_ORDER.indexOf(b.kind));
  const out: FixStep[] = [];
  while (left.length > 0) {
    // The first step nothing left must precede (a cycle cannot arise from `before`; guard anyway).
    const i = Math.max(0, left.findIndex((s) => !left.some((o) => o !== s && before(o, s))));
    out.push(...left.splice(i, 1));
  }
  return out;
}

export interface DoctorReport {
  diagnoses: Diagnosis[];
  /** In the order to run them. */
  fixes: FixStep[];
  /** No error or warning. */
  healthy: boolean;
}

const EXPIRY = new Set(['ERR_ROOT_EXPIRED', 'ERR_ISSUER_EXPIRED']);
const EXPIRING = new Set(['WARN_ROOT_EXPIRING', 'WARN_ISSUER_EXPIRING', 'WARN_ISSUER_SHORTER_THAN_TTL']);

export function diagnose(facts: DoctorFacts): DoctorReport {
  const diagnoses: Diagnosis[] = [];
  const fixes: FixStep[] = [];
  const add = (id: string, severity: Severity, message: string, ...steps: FixStep[]): void => {
    diagnoses.push({ id, severity, message });
    fixes.push(...steps);
  };
  const rotationOwnsFix = diagnoseRotation(facts, add);
  const bundleOk = diagnoseBundle(facts, add, rotationOwnsFix);
  diagnoseSentry(facts, add, bundleOk);
  diagnoseAnchorsFiles(facts, add);
  return { diagnoses, fixes: orderFixes(fixes, facts), healthy: !diagnoses.some((d) => d.severity !== 'info') };
}

type Add = (id: string, severity: Severity, message: string, ...steps: FixStep[]) => void;

/** True when the rotation (running or resumable) is the fix for the bundle, too. */
function diagnoseRotation(facts: DoctorFacts, add: Add): boolean {
  const r = facts.rotation;
  if (r.invalid !== undefined) {
    add('journal-invalid', 'error', r.invalid);
    return false;
  }
  const record = r.record;
  if (record === undefined || record.status !== 'in-progress') return false;
  if (r.running !== undefined) {
    const by = describeStarter(record.settings);
    add('rotation-running', 'warning', `Rotation ${record.id}${by ? ` (started by ${by})` : ''} is running now (${r.running}); let it finish before changing anything.`, { kind: 'wait-rotation', holder: r.running });
    return true;
  }
  if (r.storeMatches === false) {
    add('rotation-diverged', 'error',
      `Rotation ${record.id} stopped after ${record.phase}, but the bundle is no longer what it left there: someone changed it meanwhile, so it cannot continue. ` +
        'Restore the bundle from before the rotation (this abandons it), then rotate again.',
      { kind: 'rollback', ...(record.backup ? { backup: record.backup.name } : {}) });
    return true;
  }
  const step = nextStep(record, facts.now);
  const waiting = step.kind === 'wait' ? ` It may retire the old root from ${describeTime(step.until)}; --resume waits until then.` : '';
  const starter = describeStarter(record.settings);
  add('rotation-unfinished', 'warning',
    `Rotation ${record.id}${starter ? ` (started by ${starter})` : ''} stopped after ${record.phase} (unfinished). Resuming it is also the way out if the old root or issuer has expired since: ` +
      `the rotation then goes straight to the new issuer.${waiting}`,
    { kind: 'resume' });
  return true;
}

function healthyBackup(facts: DoctorFacts): { backup?: string } | undefined {
  const i = facts.backups.findIndex((b) => b.restorable === 'ok');
  if (i < 0) return undefined;
  return i === 0 ? {} : { backup: (facts.backups[i] as BackupFact).name };
}

/** Returns whether the bundle passes its checks. */
function diagnoseBundle(facts: DoctorFacts, add: Add, rotationOwnsFix: boolean): boolean {
  const b = facts.bundle;
  const restore = (): FixStep | undefined => {
    const backup = healthyBackup(facts);
    return backup === undefined ? undefined : { kind: 'rollback', ...backup };
  };
  const own = (steps: FixStep[]): FixStep[] => (rotationOwnsFix ? [] : steps);
  if (b.state === 'absent') {
    add('no-bundle', 'error', 'There is no trust bundle (ca.crt, issuer.crt, issuer.key are all missing).', ...own([{ kind: 'renew' }, { kind: 'restart-daprd' }]));
    return false;
  }
  if (b.state === 'partial') {
    const fix = restore() ?? { kind: 'renew', force: true };
    add('partial-bundle', 'error', `The trust bundle is incomplete: ${b.missing.join(', ')} missing. ` +
      (fix.kind === 'rollback' ? 'A complete backup that passes its checks exists.' : 'No backup passes its checks, so a new bundle is needed.'),
    ...own([fix, { kind: 'restart-daprd' }]));
    return false;
  }
  if (b.state === 'unreadable') {
    add('unreadable-bundle', 'error', `The trust bundle does not parse: ${b.message}`, ...own([restore() ?? { kind: 'renew' }, { kind: 'restart-daprd' }]));
    return false;
  }
  const errors = b.findings.filter((f) => f.severity === 'error');
  const expired = errors.filter((f) => EXPIRY.has(f.code));
  const other = errors.filter((f) => !EXPIRY.has(f.code));
  if (expired.length > 0) {
    add('bundle-expired', 'error',
      `${expired.map((f) => `${f.subject}: ${f.message}`).join(' ')} Nothing verifies any more, so there is no downtime left to avoid: renew in one step.`,
      ...own([{ kind: 'renew' }, { kind: 'restart-daprd' }]));
  }
  if (other.length > 0) {
    const notFromAnchors = other.some((f) => f.code === 'ERR_ISSUER_NOT_FROM_ANCHORS');
    const why = notFromAnchors
      ? 'ca.crt has not got the root the issuer chains to (an issuer was switched before its root was added to ca.crt): every new certificate is rejected.'
      : 'The trust bundle fails its checks:';
    add(notFromAnchors ? 'issuer-not-in-anchors' : 'bundle-fails-checks', 'error',
      `${why} ${other.map((f) => `${f.code} ${f.subject}: ${f.message}`).join(' ')}`,
      ...own([restore() ?? { kind: 'renew' }, { kind: 'restart-daprd' }]));
  }
  if (errors.length > 0) return false;
  const expiring = b.findings.filter((f) => EXPIRING.has(f.code));
  if (expiring.length > 0) {
    add('bundle-expiring', 'warning', `${expiring.map((f) => `${f.subject}: ${f.message}`).join(' ')} Rotate now, without downtime.`, ...own([{ kind: 'rotate' }]));
  }
  for (const f of b.findings.filter((x) => x.severity === 'warning' && !EXPIRING.has(x.code))) {
    // A Dapr <= 1.11 root is replaced by rotating; other warnings say in their message what to do.
    const fix: FixStep[] = f.code === 'WARN_LEGACY_PROFILE' ? own([{ kind: 'rotate' }]) : [];
    add(f.code.toLowerCase().replace(/_/g, '-'), 'warning', `${f.subject}: ${f.message}`, ...fix);
  }
  return true;
}

function diagnoseSentry(facts: DoctorFacts, add: Add, bundleOk: boolean): void {
  const s = facts.sentry;
  const port = s === undefined ? {} : portOf(s.address);
  // When the bundle is broken, the sentry refusing it is expected: fixing the bundle fixes both.
  const restart: FixStep[] = bundleOk ? [{ kind: 'restart-sentry', ...port }] : [];
  const expired = expiryOf(facts);
  if (s !== undefined && !s.result.ok && s.result.failure !== 'unreachable' && expired !== undefined) {
    // TLS to the sentry fails before its FAILED_PRECONDITION: its certificate chains to the dead
    // root or issuer. That is the expiry, not a trust-domain mismatch or a stale bundle.
    add('sentry-expired', 'error', `The sentry at ${s.address} cannot be used because ${expired}: ${s.result.message}. ` +
      'Renewing the bundle fixes the sentry too (it reloads the directory by itself).');
  } else if (s !== undefined) {
    const r = s.result;
    if (r.ok) {
      if (facts.bundle.state === 'complete') {
        const reasons = compareWithBundle(r.observation, facts.bundle.bundle, facts.now);
        if (reasons.length > 0) {
          add('sentry-stale', 'error', `The sentry at ${s.address} does not run on the bundle in the store: ${reasons.join('; ')}. ` +
            'It keeps its previous CA when a reload fails its checks, and only reloads the directory it was started with: check its log.', ...restart);
        }
      }
    } else if (r.failure === 'unreachable') {
      add('sentry-unreachable', 'error', `${r.message}.`, { kind: 'start-sentry', ...port });
    } else if (r.failure === 'refused' && r.status === 'FAILED_PRECONDITION') {
      add('sentry-cannot-sign', 'error', `${r.message}. Its issuer has expired or is not yet valid.`, ...restart);
    } else if (r.failure === 'identity') {
      add('sentry-identity', 'error', `The sentry at ${s.address} failed authentication against ca.crt: ${r.message}. It runs on another CA than the store holds ` +
        '(a stale bundle), or --control-plane-trust-domain/--control-plane-namespace do not match its identity.', ...restart);
    } else {
      add('sentry-refused', 'warning', `${r.message}.`);
    }
  }
  const h = facts.health;
  if (h !== undefined) {
    if (h.error !== undefined) add('sentry-health-unreachable', 'error', `The sentry's health endpoint ${h.url} does not answer: ${h.error}.`, { kind: 'start-sentry' });
    else if (h.status !== 200) add('sentry-unhealthy', 'error', `The sentry's health endpoint ${h.url} answers ${h.status}: ${(h.body ?? '').trim()}.`, ...restart);
  }
}

/** `the root expired at …` when the bundle's root or issuer has expired. */
function expiryOf(facts: DoctorFacts): string | undefined {
  const b = facts.bundle;
  if (b.state !== 'complete') return undefined;
  const parts: string[] = [];
  if (b.bundle.root.notAfter.getTime() < facts.now.getTime()) parts.push(`the root expired at ${describeTime(b.bundle.root.notAfter)}`);
  if (b.bundle.issuer.notAfter.getTime() < facts.now.getTime()) parts.push(`the issuer expired at ${describeTime(b.bundle.issuer.notAfter)}`);
  return parts.length === 0 ? undefined : parts.join(' and ');
}

/** The port of `host:port`, for the printed `warden sentry --port`. */
function portOf(address: string): { port?: number } {
  const m = /:(\d+)$/.exec(address);
  return m ? { port: Number(m[1]) } : {};
}

function diagnoseAnchorsFiles(facts: DoctorFacts, add: Add): void {
  const b = facts.bundle;
  for (const file of facts.anchorsFiles) {
    if (file.error !== undefined || file.anchors === undefined) {
      add('anchors-file-unreadable', 'warning', `The trust anchors file ${file.path} cannot be read: ${file.error ?? 'unknown error'}.`);
      continue;
    }
    if (b.state !== 'complete') continue;
    const has = (cert: Certificate): boolean => file.anchors!.some((a) => a.der.equals(cert.der));
    if (!has(b.bundle.root)) {
      add('anchors-stale', 'error', `${file.path} does not hold the root the issuer chains to (${b.bundle.root.subject.text}): ` +
        'workloads that read it reject every certificate the sentry issues now.', { kind: 'copy-anchors', to: file.path }, { kind: 'restart-daprd' });
    } else if (!b.bundle.anchors.every(has)) {
      add('anchors-missing-new-root', 'warning', `${file.path} lacks ${b.bundle.anchors.filter((a) => !has(a)).length} of the ${b.bundle.anchors.length} roots in ca.crt: ` +
        'workloads that read it will reject certificates from the new issuer once it is switched.', { kind: 'copy-anchors', to: file.path }, { kind: 'restart-daprd' });
    }
  }
}

function dedupe(steps: FixStep[]): FixStep[] {
  const seen = new Set<string>();
  return steps.filter((s) => {
    const key = JSON.stringify(s);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
