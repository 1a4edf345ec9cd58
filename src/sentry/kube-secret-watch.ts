/**
 * Noticing a change of the `dapr-trust-bundle` Secret with exactly the RBAC Dapr's chart gives
 * Sentry: get/update/delete on that Secret, no list and no watch. Dapr's Sentry watches the
 * credentials directory the chart mounts from the Secret (/var/run/secrets/dapr.io/credentials;
 * the kubelet swaps its `..data` link when the Secret changes) and re-reads the Secret then.
 * Warden does the same, and GETs the Secret periodically as well, so a change is seen even without
 * the mount (or before the kubelet's sync, which can take a minute). Either way a change is
 * reported once, when the Secret's resourceVersion differs from the last one seen.
 */
import { existsSync } from 'node:fs';
import type { Logger } from 'pino';
import { RobustDirWatch } from './reload-watch.js';
import { apiErrorMessage } from './validators/kubernetes-api.js';

export interface SecretChangeWatchOptions {
  /** The chart's credentials mount (`--issuer-credentials`); watched when it exists. */
  credentialsDir: string;
  /** GETs the Secret's resourceVersion; undefined when it does not exist. */
  readVersion(): Promise<string | undefined>;
  /** The resourceVersion already acted on (the start-up read). */
  initialVersion: string | undefined;
  /** How often the Secret is read regardless of file events (0: never). */
  intervalMs: number;
  onChange(): void;
  logger: Logger;
  /** For logs: `Secret dapr-system/dapr-trust-bundle`. */
  what: string;
}

const DELETED = '<deleted>';

/** Starts watching; returns `stop`. */
export function watchTrustBundleSecret(opts: SecretChangeWatchOptions): () => void {
  let seen = opts.initialVersion;
  let stopped = false;
  let checking: Promise<void> | undefined;
  let again = false;
  let failing = false;

  const checkOnce = async (): Promise<void> => {
    let version: string;
    try {
      version = (await opts.readVersion()) ?? DELETED;
    } catch (err) {
      // Logged once per outage, not at every poll.
      if (!failing) opts.logger.warn({ object: opts.what }, `Could not read ${opts.what}: ${apiErrorMessage(err)}; will retry`);
      failing = true;
      return;
    }
    failing = false;
    if (stopped || version === seen) return;
    seen = version;
    opts.onChange();
  };
  /** Serialized: an event during a read runs one more read after it. */
  const check = (): void => {
    if (stopped) return;
    if (checking) {
      again = true;
      return;
    }
    checking = checkOnce().finally(() => {
      checking = undefined;
      if (again) {
        again = false;
        check();
      }
    });
  };

  let dirWatch: RobustDirWatch | undefined;
  if (existsSync(opts.credentialsDir)) {
    opts.logger.info({ dirs: [opts.credentialsDir] }, `Starting watch on filesystem directories: [${opts.credentialsDir}]`);
    dirWatch = new RobustDirWatch({ dir: opts.credentialsDir, logger: opts.logger, onEvent: check });
    dirWatch.start();
  } else {
    opts.logger.debug({ dir: opts.credentialsDir }, `Credentials directory ${opts.credentialsDir} is not mounted; reading ${opts.what} periodically only`);
  }
  const timer = opts.intervalMs > 0 ? setInterval(check, opts.intervalMs) : undefined;
  timer?.unref();
  return () => {
    stopped = true;
    dirWatch?.close();
    if (timer !== undefined) clearInterval(timer);
  };
}
