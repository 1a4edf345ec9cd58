/**
 * Who started a rotation, kept in its settings (RotationSettings is open, so older journals without
 * these keys still read): `startedBy` says what (a person's `warden mtls rotate`, or the sentry's
 * `--auto-renew`), `startedByIdentity` who (`user@host` for a person, the replica's Lease identity
 * for the sentry). The sentry resumes only rotations it started; `rotate --status` and `doctor`
 * name the starter of an unfinished one.
 */
import type { RotationSettings } from './record.js';

export const STARTED_BY_KEY = 'startedBy';
export const STARTED_BY_IDENTITY_KEY = 'startedByIdentity';
/** The sentry's automatic renewal. */
export const STARTED_BY_SENTRY = 'warden-sentry';
/** A person's `warden mtls rotate`. */
export const STARTED_BY_ROTATE = 'warden-mtls-rotate';

/** The settings keys recording the starter. */
export function startedBySettings(by: string, identity: string): Pick<RotationSettings, typeof STARTED_BY_KEY | typeof STARTED_BY_IDENTITY_KEY> {
  return { [STARTED_BY_KEY]: by, [STARTED_BY_IDENTITY_KEY]: identity };
}

/** "the sentry's --auto-renew (replica host_12)" or "ana@laptop (warden mtls rotate)"; undefined when the journal does not say (older journals). */
export function describeStarter(settings: RotationSettings): string | undefined {
  const by = settings[STARTED_BY_KEY];
  const identity = typeof settings[STARTED_BY_IDENTITY_KEY] === 'string' && settings[STARTED_BY_IDENTITY_KEY] !== '' ? String(settings[STARTED_BY_IDENTITY_KEY]) : undefined;
  if (by === STARTED_BY_SENTRY) return `the sentry's --auto-renew${identity ? ` (replica ${identity})` : ''}`;
  // No backticks: printed commands in backticks are meant to be run as they stand.
  if (by === STARTED_BY_ROTATE) return identity ? `${identity} (warden mtls rotate)` : 'a person (warden mtls rotate)';
  return undefined;
}
