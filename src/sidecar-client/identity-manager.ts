/**
 * A workload's identity over its lifetime, as Dapr's kit `crypto/spiffe` keeps it (spec 4.4): the
 * initial fetch, then renewal at 50% of the certificate's lifetime, checking the clock at least
 * once a minute and retrying every 10 s on failure. On top of that it serves mTLS options that
 * always use the latest certificate and the latest trust anchors (spec 8).
 */
import { EventEmitter } from 'node:events';
import type { KeyObject } from 'node:crypto';
import type { Server as TlsServer, ConnectionOptions, TlsOptions, SecureContext, SecureContextOptions, TLSSocket } from 'node:tls';
import { createSecureContext } from 'node:tls';
import { certificatesToPem, type Certificate } from '../core/certificate.js';
import { systemClock, type Clock } from '../core/clock.js';
import { isWardenError, WardenError } from '../core/errors.js';
import { privateKeyToPkcs8Pem } from '../core/keys.js';
import { goTimeString } from '../core/thresholds.js';
import { errorText, silentLogger, type IdentityLogger } from './logger.js';
import { peerSpiffeId, spiffeServerIdentityCheck, toAuthorizer, type ExpectedPeer } from './peer-id.js';
import type { IssuedIdentity } from './sentry-client.js';
import { systemTimers, type Timers } from './timers.js';
import type { TrustAnchors, TrustAnchorSource } from './trust-anchors.js';
import { writeIdentityFiles } from './write-identity.js';

/** Longest sleep of the renewal loop: the clock is re-read at least this often (kit: 1 minute). */
export const RENEWAL_CHECK_INTERVAL_MS = 60_000;
/** Pause after a failed renewal (kit: 10 s). */
export const RENEWAL_RETRY_INTERVAL_MS = 10_000;

/** What the workload holds right now. */
export interface IdentitySnapshot {
  readonly key: KeyObject;
  /** Leaf first, then the issuer chain. */
  readonly certChain: readonly Certificate[];
  readonly certChainPem: string;
  /** The current trust anchors (they may have changed since the certificate was issued). */
  readonly anchors: TrustAnchors;
  readonly spiffeId: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
}

export interface WorkloadIdentityOptions {
  /** Obtains a new identity (normally `SentryClient.requestIdentity` bound to the request). */
  fetchIdentity: () => Promise<IssuedIdentity>;
  trustAnchors: TrustAnchorSource;
  clock?: Clock;
  timers?: Timers;
  logger?: IdentityLogger;
}

/** kit's `renewalTime`: NotBefore + (NotAfter − NotBefore) / 2. */
export function renewalTime(notBefore: Date, notAfter: Date): Date {
  return new Date(notBefore.getTime() + Math.floor((notAfter.getTime() - notBefore.getTime()) / 2));
}

/**
 * Events: `'renewed'` (snapshot) after each successful renewal, `'renewalFailed'` (error) after
 * each failed attempt, `'anchorsChanged'` (anchors) when the trust anchors change.
 */
export class WorkloadIdentity extends EventEmitter {
  private readonly fetchIdentity: () => Promise<IssuedIdentity>;
  private readonly anchorSource: TrustAnchorSource;
  private readonly clock: Clock;
  private readonly timers: Timers;
  private readonly logger: IdentityLogger;
  private readonly stop = new AbortController();
  private identity: IssuedIdentity;
  private renewalCount = 0;
  private generation = 0;
  private cachedContext: { generation: number; anchorsPem: string; context: SecureContext } | undefined;
  private loop: Promise<void> | undefined;
  private readonly onAnchorsChanged = (anchors: TrustAnchors): void => {
    this.generation++;
    this.emit('anchorsChanged', anchors);
  };

  private constructor(options: WorkloadIdentityOptions, initial: IssuedIdentity) {
    super();
    this.fetchIdentity = options.fetchIdentity;
    this.anchorSource = options.trustAnchors;
    this.clock = options.clock ?? systemClock;
    this.timers = options.timers ?? systemTimers;
    this.logger = options.logger ?? silentLogger;
    this.identity = initial;
    this.anchorSource.on('changed', this.onAnchorsChanged);
  }

  /**
   * Waits for the trust anchors, fetches the initial identity and starts the renewal loop. A failed
   * fetch rejects with `failed to retrieve the initial identity: <err>` (the cause's code is kept).
   */
  static async start(options: WorkloadIdentityOptions): Promise<WorkloadIdentity> {
    const logger = options.logger ?? silentLogger;
    let initial: IssuedIdentity;
    try {
      await options.trustAnchors.ready();
      logger.info('Fetching initial identity');
      initial = await options.fetchIdentity();
    } catch (error) {
      throw new WardenError(
        isWardenError(error) ? error.code : 'ERR_SENTRY_UNAVAILABLE',
        `failed to retrieve the initial identity: ${errorText(error)}`,
        { cause: error },
      );
    }
    const identity = new WorkloadIdentity(options, initial);
    logger.info('Security is initialized successfully');
    identity.loop = identity.runRotation();
    return identity;
  }

  /** The current key, chain and anchors. */
  current(): IdentitySnapshot {
    const { privateKey, certChain, spiffeId, notBefore, notAfter } = this.identity;
    return {
      key: privateKey,
      certChain,
      certChainPem: certificatesToPem(certChain),
      anchors: this.anchorSource.current(),
      spiffeId,
      notBefore,
      notAfter,
    };
  }

  /** When the current certificate is due for renewal. */
  renewalTime(): Date {
    return renewalTime(this.identity.notBefore, this.identity.notAfter);
  }

  /** Successful renewals so far. */
  get renewals(): number {
    return this.renewalCount;
  }

  /** Key, chain and anchors as `tls.createSecureContext` options. */
  secureContextOptions(): SecureContextOptions {
    const snapshot = this.current();
    return {
      key: privateKeyToPkcs8Pem(snapshot.key),
      cert: snapshot.certChainPem,
      ca: snapshot.anchors.pem,
      // Fixed, so contexts swapped in by SNICallback or setSecureContext accept the same sessions.
      sessionIdContext: 'warden-workload',
    };
  }

  /** A secure context for the current identity and anchors (cached until either changes). */
  secureContext(): SecureContext {
    const anchorsPem = this.anchorSource.current().pem;
    const cached = this.cachedContext;
    if (cached && cached.generation === this.generation && cached.anchorsPem === anchorsPem) return cached.context;
    const context = createSecureContext(this.secureContextOptions());
    this.cachedContext = { generation: this.generation, anchorsPem, context };
    return context;
  }

  /**
   * Options for an mTLS server (`tls.createServer`, `https.createServer`): presents leaf + chain,
   * requires a client certificate that chains to the anchors. Connections that send SNI get the
   * latest context through `SNICallback`; call `bindTlsServer` so the rest do too, and to authorize
   * clients by SPIFFE ID.
   */
  tlsServerOptions(): TlsOptions {
    return {
      ...this.secureContextOptions(),
      requestCert: true,
      rejectUnauthorized: true,
      SNICallback: (_servername, callback) => {
        try {
          callback(null, this.secureContext());
        } catch (error) {
          callback(error as Error, undefined);
        }
      },
    };
  }

  /**
   * Options for an mTLS client connection (`tls.connect`, `https.request`): presents leaf + chain,
   * trusts the current anchors and accepts the server only when its SPIFFE ID satisfies
   * `expectedPeer` (any SPIFFE ID when omitted); the hostname is ignored. Take fresh options per
   * connection, and do not let an agent resume TLS sessions (node skips the identity check then).
   */
  tlsClientOptions(expectedPeer?: ExpectedPeer): ConnectionOptions {
    return {
      secureContext: this.secureContext(),
      rejectUnauthorized: true,
      checkServerIdentity: spiffeServerIdentityCheck(expectedPeer),
    };
  }

  /**
   * Keeps `server`'s certificate and anchors current (swapped on renewal and on anchor changes,
   * for new connections) and, with `authorizePeer`, closes connections whose client SPIFFE ID is
   * not accepted. Returns a function that undoes both.
   */
  bindTlsServer(server: TlsServer, options: { authorizePeer?: ExpectedPeer } = {}): () => void {
    const refresh = (): void => server.setSecureContext(this.secureContextOptions());
    this.on('renewed', refresh);
    this.on('anchorsChanged', refresh);
    const authorize = options.authorizePeer === undefined ? undefined : toAuthorizer(options.authorizePeer);
    const check = (socket: TLSSocket): void => {
      const id = peerSpiffeId(socket);
      if (id === undefined || !authorize?.(id)) {
        this.logger.warn(`Refusing mTLS connection from ${id ?? 'a peer without a SPIFFE ID'}`);
        socket.destroy();
      }
    };
    // Registered first so the connection is dropped before any request handler sees it.
    if (authorize) server.prependListener('secureConnection', check);
    return () => {
      this.off('renewed', refresh);
      this.off('anchorsChanged', refresh);
      if (authorize) server.off('secureConnection', check);
    };
  }

  /** Writes key.pem, cert.pem and ca.pem of the current identity into `dir` (0600, atomic). */
  async writeIdentityToDir(dir: string): Promise<void> {
    const snapshot = this.current();
    await writeIdentityFiles(dir, {
      keyPem: privateKeyToPkcs8Pem(snapshot.key),
      certChainPem: snapshot.certChainPem,
      anchorsPem: snapshot.anchors.pem,
    });
  }

  /** Stops the renewal loop (an in-flight fetch is awaited) and stops following the anchors. */
  async close(): Promise<void> {
    this.stop.abort();
    this.anchorSource.off('changed', this.onAnchorsChanged);
    await this.loop;
  }

  /** kit's `runRotation`, step for step (spec 4.4). */
  private async runRotation(): Promise<void> {
    const signal = this.stop.signal;
    let renewal = this.renewalTime();
    this.logger.info(
      `Starting workload identity expiry watcher; cert expires on: ${goTimeString(this.identity.notAfter)}, renewal at: ${goTimeString(renewal)}`,
    );
    while (!signal.aborted) {
      const untilRenewal = renewal.getTime() - this.clock.now().getTime();
      if (untilRenewal > 0) {
        // Sleep at most a minute, then re-read the clock: survives clock jumps and suspends.
        await this.timers.sleep(Math.min(RENEWAL_CHECK_INTERVAL_MS, untilRenewal), signal);
        continue;
      }
      this.logger.info(`Renewing workload identity; cert expires on: ${goTimeString(this.identity.notAfter)}`);
      let next: IssuedIdentity;
      try {
        next = await this.fetchIdentity();
      } catch (error) {
        if (signal.aborted) return;
        this.logger.error(`Error renewing identity, trying again in 10 seconds: ${errorText(error)}`);
        this.emit('renewalFailed', error);
        await this.timers.sleep(RENEWAL_RETRY_INTERVAL_MS, signal);
        continue;
      }
      if (signal.aborted) return;
      this.identity = next;
      this.renewalCount++;
      this.generation++;
      renewal = this.renewalTime();
      this.logger.info(
        `Successfully renewed workload identity; cert expires on: ${goTimeString(next.notAfter)}, renewal at: ${goTimeString(renewal)}`,
      );
      this.emit('renewed', this.current());
    }
  }
}
