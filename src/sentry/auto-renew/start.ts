/**
 * Builds the auto-renewer for a running sentry from its options: the site for its mode (the
 * directory, or the cluster with its Lease), the root key if one was given, real timers unless a
 * test injects a sleeper.
 */
import { readFile } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import type { Logger } from 'pino';
import type { Clock } from '../../core/clock.js';
import { WardenError } from '../../core/errors.js';
import { parsePrivateKeyPem } from '../../core/keys.js';
import { systemTimers } from '../../sidecar-client/timers.js';
import type { CaStateHolder } from '../ca-state.js';
import type { SentryConfig } from '../config.js';
import type { SentryMetrics } from '../metrics.js';
import type { SentryOptions } from '../options.js';
import { AutoRenewer } from './renewer.js';
import { openSelfHostedSite } from './self-hosted-site.js';
import type { RenewSite } from './site.js';

export interface AutoRenewStartDeps {
  options: SentryOptions;
  config: SentryConfig;
  caState: CaStateHolder;
  clock: Clock;
  logger: Logger;
  metrics: SentryMetrics;
}

export async function startAutoRenewer(deps: AutoRenewStartDeps): Promise<AutoRenewer> {
  const { options, config, clock, logger } = deps;
  const sleeper = options.autoRenewSleeper ?? systemTimers;
  const rootKey = options.autoRenewRootKey === undefined ? undefined : await readRootKey(options.autoRenewRootKey);
  let site: RenewSite;
  if (options.mode === 'kubernetes') {
    const { openKubeRenewSite } = await import('./kube-site.js');
    site = await openKubeRenewSite({ options, clock, sleeper, logger });
  } else {
    const file = (name: string): string => (isAbsolute(name) ? name : join(options.issuerCredentials, name));
    site = openSelfHostedSite({
      dir: options.issuerCredentials,
      caFile: file(options.issuerCaFilename),
      issuerCertFile: file(options.issuerCertificateFilename),
      issuerKeyFile: file(options.issuerKeyFilename),
      clock, sleeper, caState: deps.caState,
      propagationDelayMs: options.autoRenewPropagationDelayMs ?? 10_000,
      timeoutMs: options.autoRenewTimeoutMs,
    });
  }
  const renewer = new AutoRenewer({
    site, caState: deps.caState, clock, sleeper, logger, metrics: deps.metrics,
    policy: { renewAt: options.renewAt, renewBeforeMs: options.renewBeforeMs },
    rotationPolicy: { workloadTtlMs: config.workloadCertTtlMs, clockSkewMs: config.allowedClockSkewMs },
    checkIntervalMs: options.autoRenewCheckIntervalMs,
    retryDelayMs: options.autoRenewRetryDelayMs,
    rootKey,
    trustDomain: options.trustDomain,
    namespace: options.namespace,
  });
  logger.info(
    { mode: site.mode, renewAt: options.renewAt, renewBefore: options.renewBeforeMs, rootKey: rootKey !== undefined, lease: site.leadership?.identity },
    `Auto-renew on: the CA is renewed at ${Math.round(options.renewAt * 100)}% of its lifetime or ${Math.round(options.renewBeforeMs / 3_600_000)}h before it expires, whichever is first`,
  );
  renewer.start();
  return renewer;
}

async function readRootKey(path: string): Promise<import('node:crypto').KeyObject> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new WardenError('ERR_FILE_IO', `Cannot read --auto-renew-root-key ${path}: ${(error as Error).message}`, { cause: error });
  }
  return parsePrivateKeyPem(text);
}
