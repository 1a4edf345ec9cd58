/**
 * The CA Sentry signs with: a checked TrustBundle and its WorkloadSigner. Handlers read `current`
 * once per call and keep that snapshot, so a reload swaps the whole state atomically between calls
 * and never mixes an old chain with a new key.
 */
import type { TrustBundle } from '../core/bundle.js';
import type { Clock } from '../core/clock.js';
import type { ProfileVersion } from '../core/profile.js';
import type { SerialSource } from '../core/serial.js';
import { WorkloadSigner } from '../core/sign.js';
import type { SentryConfig } from './config.js';
import { JwtIssuer, type JwtIssueOptions } from './jwt-issuer.js';

export interface CaState {
  readonly bundle: TrustBundle;
  readonly signer: WorkloadSigner;
  /** Signs JWT-SVIDs with the bundle's JWT material; undefined when JWTs are off. */
  readonly jwt?: JwtIssuer | undefined;
  /** The store's version of the texts this state came from (to skip no-op reloads). */
  readonly version: unknown;
}

export interface CaStateFactoryDeps {
  clock: Clock;
  config: SentryConfig;
  serials?: SerialSource | undefined;
  /** `--jwt-enabled`: how tokens are issued (undefined: JWTs are off). */
  jwt?: JwtIssueOptions | undefined;
  /** The leaf profile (default: the newest Dapr's). */
  profile?: ProfileVersion | undefined;
}

/** Builds the signing state for a bundle that already passed the checks. */
export function createCaState(bundle: TrustBundle, version: unknown, deps: CaStateFactoryDeps): CaState {
  const signer = new WorkloadSigner(bundle, {
    clock: deps.clock,
    workloadTtlMs: deps.config.workloadCertTtlMs,
    clockSkewMs: deps.config.allowedClockSkewMs,
    ...(deps.serials !== undefined ? { serials: deps.serials } : {}),
    ...(deps.profile !== undefined ? { profile: deps.profile } : {}),
  });
  const jwt = deps.jwt !== undefined && bundle.jwt !== undefined ? new JwtIssuer(bundle.jwt, deps.jwt) : undefined;
  return { bundle, signer, version, jwt };
}

/** Holds the current CaState; `swap` replaces it and tells subscribers. */
export class CaStateHolder {
  private state: CaState;
  private readonly listeners = new Set<(state: CaState) => void>();

  constructor(initial: CaState) {
    this.state = initial;
  }

  get current(): CaState {
    return this.state;
  }

  swap(next: CaState): void {
    this.state = next;
    for (const listener of this.listeners) listener(next);
  }

  onSwap(listener: (state: CaState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
