/**
 * The expiry banner after every `-k` command (spec 6.5, Dapr CLI `CheckForCertExpiry`), for the
 * root **and** the issuer: Dapr's texts and whole-day thresholds, the threshold set with
 * `--expiry-warning-days` (30). It reads the cluster's bundle again, as Dapr's PostRun does, so
 * after a renewal it judges the new certificates. Like Dapr's it never fails the command: any
 * error (no cluster, no Secret, unparsable PEM) prints nothing.
 */
import { parseCertificatesPem } from '../core/certificate.js';
import { daprCliExpiryBanner, rfc1123 } from '../core/thresholds.js';
import type { BundleTexts } from '../core/bundle-texts.js';
import type { Io } from './io.js';
import { DEFAULT_EXPIRY_WARNING_DAYS, type KubeCliOptions } from './kube-options.js';
import { STATUS_PREFIX } from './output.js';

const RENEWAL_HINT = ' Please see docs.dapr.io for certificate renewal instructions to avoid service interruptions.';

/**
 * The banner lines due for `texts` at `now` (root first, then issuer), each in Dapr's layout:
 * `⚠  <message> Expiry date: <RFC1123>. \n Please see docs.dapr.io …` (note `". "`, the newline
 * and the leading space). Empty when neither certificate is within `thresholdDays`.
 */
export function kubeExpiryBannerLines(texts: Pick<BundleTexts, 'ca' | 'issuerCert'>, now: Date, thresholdDays = DEFAULT_EXPIRY_WARNING_DAYS): string[] {
  const lines: string[] = [];
  for (const [certificate, pem] of [['root', texts.ca], ['issuer', texts.issuerCert]] as const) {
    const notAfter = firstNotAfter(pem);
    if (notAfter === undefined) continue;
    const message = daprCliExpiryBanner(notAfter, now, thresholdDays, { certificate });
    if (message !== null) lines.push(`${STATUS_PREFIX.warning}${message} Expiry date: ${rfc1123(notAfter)}. \n${RENEWAL_HINT}\n`);
  }
  return lines;
}

/**
 * Reads the cluster's bundle and prints the banner (stdout; stderr when the command printed JSON).
 * Never throws. Loads the Kubernetes code lazily: call it only after a `-k` command.
 */
export async function printKubeExpiryBanner(opts: KubeCliOptions & { output?: string }, io: Io): Promise<void> {
  try {
    const { openKubeSession } = await import('./kube-bundle.js');
    const { store } = await openKubeSession(opts, io);
    const result = await store.read();
    if (result.state !== 'complete') return;
    const write = opts.output === 'json' ? io.stderr : io.stdout;
    for (const line of kubeExpiryBannerLines(result.texts, io.clock.now(), opts.expiryWarningDays)) write(line);
  } catch {
    // As Dapr: the banner is advisory and its errors are ignored.
  }
}

function firstNotAfter(pem: string): Date | undefined {
  try {
    return parseCertificatesPem(pem)[0]?.notAfter;
  } catch {
    return undefined;
  }
}
