/**
 * The expiry log Dapr's docs promise but current Sentry lost (spec 5.1, 7.2), for the root AND the
 * issuer: at start and then every interval (default 1 h), a warning once less than the window
 * (default 30 d) remains, an error once expired. The thresholds come from core/expiry-window and core/thresholds.
 */
import type { Logger } from 'pino';
import type { Certificate } from '../core/certificate.js';
import type { Clock } from '../core/clock.js';
import { formatGoDuration } from '../core/duration.js';
import { expiryStatus } from '../core/expiry-window.js';
import { daysAndHoursLeft } from '../core/thresholds.js';
import type { CaStateHolder } from './ca-state.js';

export interface ExpiryLogEntry {
  level: 'debug' | 'warn' | 'error';
  msg: string;
}

/** What to log about one certificate (`label` is `root` or `issuer`) at `now`. Pure. */
export function expiryLogEntry(label: 'root' | 'issuer', cert: Certificate, now: Date, warnWithinMs: number): ExpiryLogEntry {
  const prefix = `Dapr ${label} certificate`;
  const status = expiryStatus(cert, now, { warnWithinMs });
  switch (status.state) {
    case 'expired':
      return { level: 'error', msg: `${prefix} expiration warning: certificate has expired.` };
    case 'not-yet-valid':
      return { level: 'error', msg: `${prefix} is not valid yet: valid from ${cert.notBefore.toISOString()}` };
    case 'expiring': {
      const { days, hours } = daysAndHoursLeft(status.remainingMs);
      return { level: 'warn', msg: `${prefix} expiration warning: certificate expires in ${days} days and ${hours} hours` };
    }
    case 'valid':
      return { level: 'debug', msg: `${prefix} is still valid for ${formatGoDuration(Math.floor(status.remainingMs / 1000) * 1000)}` };
  }
}

export interface ExpiryWatchDeps {
  caState: CaStateHolder;
  clock: Clock;
  logger: Logger;
  warnWithinMs: number;
  intervalMs: number;
}

/** Logs at once and then every `intervalMs` until stopped. */
export class ExpiryWatch {
  private timer: NodeJS.Timeout | undefined;
  private renewalNote: (() => string | undefined) | undefined;

  constructor(private readonly deps: ExpiryWatchDeps) {}

  start(): void {
    this.check();
    this.timer = setInterval(() => this.check(), this.deps.intervalMs);
    this.timer.unref();
  }

  /** With --auto-renew: a sentence saying when the automatic renewal runs, added to the warnings. */
  setRenewalNote(note: () => string | undefined): void {
    this.renewalNote = note;
  }

  /** Logs the current root and issuer status (also called after a reload). */
  check(): void {
    const { bundle } = this.deps.caState.current;
    const now = this.deps.clock.now();
    for (const [label, cert] of [['root', bundle.root], ['issuer', bundle.issuer]] as const) {
      const entry = expiryLogEntry(label, cert, now, this.deps.warnWithinMs);
      const note = entry.level === 'debug' ? undefined : this.renewalNote?.();
      this.deps.logger[entry.level]({ notAfter: cert.notAfter.toISOString(), ...(note ? { autoRenew: note } : {}) }, note ? `${entry.msg}; ${note}` : entry.msg);
    }
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }
}
