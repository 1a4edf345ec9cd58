/**
 * What the fleet reads one target with: a name, a kind, and `read(signal, now)`, which gathers the
 * target's facts with the existing readers (stores, journal, check chain) and judges them. `signal`
 * aborts the target's requests when its `--timeout` runs out (read-target.ts).
 */
import type { CheckPolicy } from '../core/checks/index.js';
import type { RotationRecord } from '../core/rotation-phases/record.js';
import { bundleFactOf } from '../rotation-engine/doctor-facts.js';
import type { BundleReadResult } from '../stores/store.js';
import { certificateRows } from './certificates.js';
import { judgeTarget, type FixCommand, type TargetFacts } from './judge.js';
import type { FleetTarget, TargetKind } from './model.js';
import { rotationView } from './rotation.js';
import { stalledRotation } from './stalled-rotation.js';

export interface TargetReader {
  readonly name: string;
  readonly kind: TargetKind;
  /** The error code for a failure that is not a WardenError (ERR_KUBE_API, ERR_STORE_IO). */
  readonly fallbackErrorCode: string;
  read(signal: AbortSignal, now: Date): Promise<FleetTarget>;
  /** Lets go of connections (the monitor calls it once at the end). */
  close?(): void;
}

/** What a reader gathered; everything the row needs besides its name and kind. */
export interface GatheredFacts {
  read: BundleReadResult;
  record: RotationRecord | undefined;
  daprNamespace: string | null;
  daprVersion: string | null;
  configMapInSync: boolean | null;
  sentry: TargetFacts['sentry'];
  appsNotConverged: number | null;
  policy?: CheckPolicy;
}

/** The row for gathered facts, judged at `now`. */
export function targetRow(reader: Pick<TargetReader, 'name' | 'kind'>, facts: GatheredFacts, fix: FixCommand, now: Date): FleetTarget {
  const bundle = bundleFactOf(facts.read, now, facts.policy ?? {});
  const certificates = bundle.state === 'complete' ? certificateRows(bundle.bundle, bundle.findings, now) : [];
  const rotation = rotationView(facts.record);
  const stalled = stalledRotation(facts.record, rotation, now);
  const verdict = judgeTarget({ bundle, certificates, configMapInSync: facts.configMapInSync, sentry: facts.sentry, appsNotConverged: facts.appsNotConverged, stalled }, fix, now);
  return {
    name: reader.name,
    kind: reader.kind,
    status: verdict.status,
    error: null,
    daprNamespace: facts.daprNamespace,
    daprVersion: facts.daprVersion,
    certificates,
    rotation,
    configMapInSync: facts.configMapInSync,
    sentryReady: facts.sentry === null ? null : facts.sentry.ready,
    appsNotConverged: facts.appsNotConverged,
    finding: verdict.finding,
    lastSuccessfulRead: null,
  };
}

/**
 * `warden mtls <sub> <prefix…> <args…>`, each word shell-quoted when it needs to be; `env` (e.g.
 * `{ KUBECONFIG: 'a:b' }`) is set in front of the command.
 */
export function fixCommandWith(prefix: readonly string[], env: Readonly<Record<string, string>> = {}): FixCommand {
  const assignments = Object.entries(env).map(([k, v]) => `${k}=${quoteWord(v)} `).join('');
  return (sub, args = []) => assignments + ['warden', 'mtls', sub, ...prefix, ...args].map(quoteWord).join(' ');
}

function quoteWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}
