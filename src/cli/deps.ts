import type { Clock } from '../core/clock.js';
import type { SentryOptions as FullSentryOptions } from '../sentry/options.js';
import { FsTrustBundleStore } from '../stores/fs-store.js';
import type { TrustBundleStore } from '../stores/store.js';

/** What a command uses of a trust-bundle store (the file-system store satisfies it). */
export type BundleStore = Pick<TrustBundleStore, 'read' | 'write'>;

export interface StoreOptions {
  dir: string;
  caFile: string;
  issuerCertFile: string;
  issuerKeyFile: string;
  clock: Clock;
}

/** What `runSentry` takes: any subset of its options, the rest defaulted. */
export type SentryOptions = Partial<FullSentryOptions>;
export interface RunningSentryHandle {
  close(): Promise<void>;
  /** Resolves when it closed on its own (a `--workers` worker told to close by its primary). */
  readonly closed?: Promise<void>;
}

/**
 * The collaborators commands use besides Io; injected so commands are tested in-process with
 * fakes where the real thing cannot run (e.g. waiting for a signal).
 */
export interface CliDeps {
  openStore(opts: StoreOptions): BundleStore;
  /**
   * Starts the sentry server (a single process, or with `workers` > 1 a primary or one of its
   * workers); loaded lazily so `warden mtls …` does not load gRPC.
   */
  startSentry(opts: SentryOptions): Promise<RunningSentryHandle>;
  /** Resolves with the signal name once SIGTERM or SIGINT arrives. */
  waitForShutdown(): Promise<string>;
}

export function defaultDeps(): CliDeps {
  return {
    openStore: (opts) => new FsTrustBundleStore(opts),
    startSentry: async (opts) => {
      const { startSentryProcess } = await import('../sentry/cluster/index.js');
      return startSentryProcess(opts);
    },
    waitForShutdown: waitForSignal,
  };
}

function waitForSignal(): Promise<string> {
  return new Promise((resolve) => {
    const signals = ['SIGTERM', 'SIGINT'] as const;
    const onSignal = (signal: string): void => {
      for (const s of signals) process.off(s, onSignal);
      resolve(signal);
    };
    for (const s of signals) process.once(s, onSignal);
  });
}
