/**
 * The phases of a zero-downtime root rotation (spec 3.4, issue 5), in order:
 *
 *   plan → add-anchor → switch-issuer → retire-old-root → done
 *
 * - plan: the new root and issuer exist (in the journal only); nothing in the store changed.
 * - add-anchor: `ca.crt` = old roots + new root(s); issuer unchanged. Everyone learns the new root.
 * - switch-issuer: issuer = the new issuer (chained to the new root); both roots still trusted.
 * - retire-old-root: once every leaf of the old issuer has expired, `ca.crt` = new root(s) only.
 */

export const ROTATION_PHASES = ['plan', 'add-anchor', 'switch-issuer', 'retire-old-root', 'done'] as const;
export type RotationPhase = (typeof ROTATION_PHASES)[number];

/** The phases that write the store, in order. */
export const WRITE_PHASES = ['add-anchor', 'switch-issuer', 'retire-old-root'] as const;
export type WritePhase = (typeof WRITE_PHASES)[number];

export function isRotationPhase(value: unknown): value is RotationPhase {
  return typeof value === 'string' && (ROTATION_PHASES as readonly string[]).includes(value);
}

export function isWritePhase(value: unknown): value is WritePhase {
  return typeof value === 'string' && (WRITE_PHASES as readonly string[]).includes(value);
}

/** Position in ROTATION_PHASES (plan = 0, done = 4). */
export function phaseIndex(phase: RotationPhase): number {
  return ROTATION_PHASES.indexOf(phase);
}

/** The write phase before `phase`, or undefined for the first one. */
export function previousWritePhase(phase: WritePhase): WritePhase | undefined {
  return WRITE_PHASES[WRITE_PHASES.indexOf(phase) - 1];
}

/** One line per phase: what it writes. */
export const PHASE_SUMMARY: Readonly<Record<WritePhase, string>> = Object.freeze({
  'add-anchor': 'ca.crt = old root(s) + new root; issuer unchanged',
  'switch-issuer': 'issuer = new issuer (signed by the new root); ca.crt keeps both roots',
  'retire-old-root': 'ca.crt = new root only',
});
