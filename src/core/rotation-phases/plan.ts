/**
 * The rotation plan: every phase's target bundle and its check findings, and which phases have
 * nothing to do, computed before anything is written (design §4: plan, then apply).
 */
import type { TrustBundle } from '../bundle.js';
import { hasErrors, runChecks, type CheckPolicy, type Finding } from '../checks/index.js';
import { describeTime } from '../checks/labels.js';
import { expiryState } from '../thresholds.js';
import { WRITE_PHASES, type WritePhase } from './phases.js';
import type { RotationPolicy } from './record.js';
import { computePhaseTargets, type PhaseTargets } from './targets.js';

export interface PhasePlan {
  phase: WritePhase;
  target: TrustBundle;
  /** The check chain's findings on the target at plan time (empty for a skipped phase). */
  findings: Finding[];
  /** Why the phase writes nothing, if so. */
  skip?: string;
}

export interface RotationPlan {
  targets: PhaseTargets;
  phases: PhasePlan[];
  /** Plain statements about the bundle being replaced (expired root or issuer, failed checks). */
  notes: string[];
  /** True when any phase that writes has an error finding: the rotation must not start. */
  invalid: boolean;
}

/** The check policy a rotation runs the chain with. */
export function rotationCheckPolicy(policy: RotationPolicy): CheckPolicy {
  return { workloadTtlMs: policy.workloadTtlMs, clockSkewMs: policy.clockSkewMs };
}

/**
 * Why add-anchor has nothing to protect at `now`, or undefined when it does. Adding the new root
 * beside the old issuer keeps the mesh working while the root spreads; when the current bundle
 * already fails its checks (expired root or issuer, or worse), the sentry cannot sign with it, so
 * there is no working state to keep and the old issuer cannot be written again. The rotation
 * then goes straight to the new issuer (both roots still listed).
 */
export function addAnchorSkipReason(original: TrustBundle, now: Date, policy: RotationPolicy): string | undefined {
  const errors = runChecks(original, now, rotationCheckPolicy(policy)).filter((f) => f.severity === 'error');
  if (errors.length === 0) return undefined;
  return `the current bundle can no longer be used to sign (${describeOriginalErrors(original, now, errors)}), ` +
    'so there is no working state to preserve: the new issuer is installed at once';
}

function describeOriginalErrors(original: TrustBundle, now: Date, errors: Finding[]): string {
  const parts: string[] = [];
  if (expiryState(original.root, now) === 'expired') parts.push(`its root expired at ${describeTime(original.root.notAfter)}`);
  if (expiryState(original.issuer, now) === 'expired') parts.push(`its issuer expired at ${describeTime(original.issuer.notAfter)}`);
  const other = [...new Set(errors.map((f) => f.code).filter((c) => c !== 'ERR_ROOT_EXPIRED' && c !== 'ERR_ISSUER_EXPIRED'))];
  if (other.length > 0) parts.push(`check errors ${other.join(', ')}`);
  return parts.join('; ');
}

/** Statements about the bundle being replaced, for the operator. */
export function describeOriginal(original: TrustBundle, now: Date): string[] {
  const notes: string[] = [];
  if (expiryState(original.root, now) === 'expired') {
    notes.push(`The current root certificate expired at ${describeTime(original.root.notAfter)}: nothing verifies against it any more.`);
  }
  if (expiryState(original.issuer, now) === 'expired') {
    notes.push(`The current issuer certificate expired at ${describeTime(original.issuer.notAfter)}: the sentry cannot sign with it.`);
  }
  return notes;
}

export interface PlanInput {
  original: TrustBundle;
  material: TrustBundle;
  now: Date;
  policy: RotationPolicy;
}

/** Targets, their findings at `now`, and the phases to skip. Pure. */
export function planRotation(input: PlanInput): RotationPlan {
  const targets = computePhaseTargets(input.original, input.material);
  const checkPolicy = rotationCheckPolicy(input.policy);
  const addAnchorSkip = addAnchorSkipReason(input.original, input.now, input.policy);
  const phases: PhasePlan[] = WRITE_PHASES.map((phase) => {
    const target = targets[phase];
    if (phase === 'add-anchor' && addAnchorSkip !== undefined) return { phase, target, findings: [], skip: addAnchorSkip };
    return { phase, target, findings: runChecks(target, input.now, checkPolicy) };
  });
  return {
    targets,
    phases,
    notes: describeOriginal(input.original, input.now),
    invalid: phases.some((p) => p.skip === undefined && hasErrors(p.findings)),
  };
}
