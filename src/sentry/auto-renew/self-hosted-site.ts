/**
 * The self-hosted renew site: the credentials directory, its journal `.rotation/journal.json` and
 * lock `.rotation/lock` (exactly the ones `warden mtls rotate --issuer-credentials DIR` takes, so
 * two sentries on one directory, or a sentry and a person, never both rotate), and the engine's
 * self-hosted backend. Convergence is confirmed against this sentry itself: after each write it
 * must sign with the phase's issuer and hand out the phase's anchors (it reloads the directory by
 * itself), the same comparison `rotate --sentry-address` makes over gRPC.
 */
import { createPublicKey } from 'node:crypto';
import { parseCertificatesPem } from '../../core/certificate.js';
import type { Clock } from '../../core/clock.js';
import { generatePrivateKey } from '../../core/keys.js';
import type { RotationSettings } from '../../core/rotation-phases/record.js';
import type { Sleeper } from '../../rotation-engine/backend.js';
import { SelfHostedBackend } from '../../rotation-engine/backends/self-hosted.js';
import { bareCommandLine, defaultJournalDir, FileJournalStore } from '../../rotation-engine/journal.js';
import type { ProbeResult } from '../../rotation-engine/sentry-compare.js';
import { FsTrustBundleStore } from '../../stores/fs-store.js';
import type { CaStateHolder } from '../ca-state.js';
import { hostname } from 'node:os';
import { STARTED_BY_SENTRY, startedBySettings } from '../../core/rotation-phases/started-by.js';
import type { RenewSite } from './site.js';

export interface SelfHostedSiteOptions {
  dir: string;
  caFile: string;
  issuerCertFile: string;
  issuerKeyFile: string;
  clock: Clock;
  sleeper: Sleeper;
  caState: CaStateHolder;
  /** add-anchor → switch-issuer wait (the engine's propagation delay). */
  propagationDelayMs: number;
  /** How long a phase may take to be taken up by this sentry. */
  timeoutMs: number;
  pollIntervalMs?: number;
}

export const SELF_PROBE_ADDRESS = 'this sentry (in process)';

export function openSelfHostedSite(opts: SelfHostedSiteOptions): RenewSite {
  const store = new FsTrustBundleStore({ dir: opts.dir, caFile: opts.caFile, issuerCertFile: opts.issuerCertFile, issuerKeyFile: opts.issuerKeyFile, clock: opts.clock });
  const commandLine = bareCommandLine(['--issuer-credentials', opts.dir]);
  const journal = new FileJournalStore(defaultJournalDir(opts.dir), commandLine);
  return {
    mode: 'self-hosted',
    store,
    journal,
    newSettings: (): RotationSettings => ({
      propagationDelayMs: opts.propagationDelayMs,
      timeoutMs: opts.timeoutMs,
      force: false,
      ...startedBySettings(STARTED_BY_SENTRY, `${hostname()}_${process.pid}`),
    }),
    createBackend: () => new SelfHostedBackend({
      store, journal, clock: opts.clock, sleeper: opts.sleeper,
      caPath: store.layout.files.ca,
      commandLine,
      sentry: { address: SELF_PROBE_ADDRESS },
      probe: async () => selfProbe(opts.caState),
      ...(opts.pollIntervalMs !== undefined ? { pollIntervalMs: opts.pollIntervalMs } : {}),
    }),
  };
}

/** What this sentry serves now: a leaf it signs with its current CA, and the anchors it hands out. */
export async function selfProbe(caState: CaStateHolder): Promise<ProbeResult> {
  const state = caState.current;
  const key = generatePrivateKey('ed25519');
  try {
    const signed = await state.signer.sign({ publicKey: createPublicKey(key), spiffeId: 'spiffe://public/ns/default/warden-auto-renew-probe', dnsNames: [] });
    return { ok: true, observation: { chain: parseCertificatesPem(signed.chainPem), trustAnchors: parseCertificatesPem(signed.trustAnchorsPem) } };
  } catch (error) {
    return { ok: false, failure: 'refused', message: `the sentry cannot sign with its current CA: ${(error as Error).message}` };
  }
}
