import { parseCertificatesPem } from '../core/certificate.js';
import { daprCliExpiryBanner, rfc1123 } from '../core/thresholds.js';
import type { Io } from './io.js';
import { printStatus } from './output.js';

/**
 * Dapr CLI's post-command expiry warning (spec 6.5, `CheckForCertExpiry`), for the first block of
 * `ca.crt`: printed iff fewer than 30 whole days are left, in Dapr's layout (including its
 * `". "`, newline and leading space), minus "of your Kubernetes cluster" since Warden's bundle
 * here is a directory. Like Dapr's, it never fails the command: unreadable input prints nothing.
 */
export function printExpiryBanner(io: Io, caPem: string): void {
  let notAfter: Date;
  try {
    const [root] = parseCertificatesPem(caPem);
    if (!root) return;
    notAfter = root.notAfter;
  } catch {
    return;
  }
  const message = daprCliExpiryBanner(notAfter, io.clock.now(), 30, { scope: '' });
  if (message === null) return;
  printStatus(
    io,
    'warning',
    `${message} Expiry date: ${rfc1123(notAfter)}. \n Please see docs.dapr.io for certificate renewal instructions to avoid service interruptions.`,
  );
}
