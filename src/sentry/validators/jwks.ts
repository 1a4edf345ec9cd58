/**
 * The JWKS token validator (spec 1.5; Dapr's `pkg/sentry/server/validator/jwks/jwks.go`), step by
 * step and message for message:
 *  1. empty token → `the request does not contain a token`
 *  2. key set not loaded → `jwks validator not ready` (a first load in flight is waited for)
 *  3. the common request rules (`invalid request: …`); the trust domain is the request's or `public`
 *  4. the expected subject `spiffe://<td>/ns/<ns>/<id>`
 *  5. the JWT, verified against the JWKS, then `exp`/`nbf`/`iat` with ±5 min skew, `aud` contains
 *     Sentry's SPIFFE ID, `sub` is exactly the expected subject (jwx's order); any failure →
 *     `token validation failed: <reason>`, the reason worded as Dapr's library (jwx) words it
 *     (`"aud" not satisfied`, `could not verify message using any of the signatures or keys`, …).
 *
 * Key selection follows jwx as Dapr calls it: the token must name a `kid`, the key with that `kid`
 * is used with its own `alg` or, without one, an algorithm its type allows (RSA: RS*, PS*; EC:
 * ES*; OKP: EdDSA); keys whose `use` is not `sig` are skipped. Warden ignores symmetric (`oct`)
 * keys, which jwx would accept for HS*: a JWKS publishes public keys, and a shared secret there
 * would let anyone who can read the JWKS mint tokens.
 *
 * Verification is done by `jose` (panva/jose), not by hand: it is the maintained, audited JOSE
 * implementation for Node (no dependencies, used by the Kubernetes client and most OIDC libraries),
 * and signature, algorithm and claim checks are exactly where hand-written code goes wrong.
 */
import { createLocalJWKSet, decodeProtectedHeader, errors as joseErrors, jwtVerify, type JSONWebKeySet } from 'jose';
import type { Logger } from 'pino';
import type { Clock } from '../../core/clock.js';
import { WardenError } from '../../core/errors.js';
import { buildSpiffeId, validateSignRequest } from '../../core/spiffe-id.js';
import type { SignCertificateRequest } from '../../wire/sentry-proto.js';
import type { Validator } from '../validators.js';
import type { JwksValidatorConfig } from '../token-validators-config.js';
import { JwksCache } from './jwks-cache.js';
import type { JwkSet } from './jwks-source.js';

/** Dapr: `jwt.WithAcceptableSkew(5*time.Minute)`. */
export const JWKS_CLOCK_SKEW_S = 5 * 60;
const NOT_VERIFIED = 'could not verify message using any of the signatures or keys';

export interface JwksValidatorOptions extends JwksValidatorConfig {
  /** `spiffe://<td>/ns/<ns>/dapr-sentry`: the audience tokens must carry. */
  sentryId: string;
  clock: Clock;
  logger: Logger;
  /** First wait after a failed first load; doubles up to `maxRetryMs` (defaults 1 s, 30 s). */
  retryMs?: number | undefined;
  maxRetryMs?: number | undefined;
}

export class JwksValidator implements Validator {
  readonly name = 'JWKS' as const;
  readonly cache: JwksCache;
  private verifierFor: { set: JwkSet; verify: ReturnType<typeof createLocalJWKSet> } | undefined;

  constructor(private readonly options: JwksValidatorOptions) {
    this.cache = new JwksCache(options);
  }

  /** True once the JWKS is loaded (Dapr's health target `sentry-jwks-validator`). */
  get ready(): boolean {
    return this.cache.ready;
  }

  start(): void {
    this.cache.start();
  }

  stop(): void {
    this.cache.stop();
  }

  async validate(req: SignCertificateRequest): Promise<string> {
    if (req.token === '') throw new WardenError('ERR_REQUEST_INVALID', 'the request does not contain a token');
    if (!(await this.cache.whenReady())) throw new WardenError('ERR_VALIDATOR_NOT_READY', 'jwks validator not ready');
    const trustDomain = validateSignRequest({ id: req.id, namespace: req.namespace, trustDomain: req.trust_domain, csr: req.certificate_signing_request });
    let subject: string;
    try {
      subject = buildSpiffeId(trustDomain, req.namespace, req.id);
    } catch (err) {
      throw new WardenError('ERR_REQUEST_INVALID', `failed to construct SPIFFE ID for requestor: ${(err as Error).message}`, { cause: err });
    }
    try {
      await this.verify(req.token, subject);
    } catch (err) {
      throw new WardenError('ERR_IDENTITY_DENIED', `token validation failed: ${reasonOf(err)}`, { cause: err });
    }
    return trustDomain;
  }

  private async verify(token: string, subject: string): Promise<void> {
    let kid: unknown;
    try {
      kid = decodeProtectedHeader(token).kid;
    } catch (err) {
      throw new Error(`failed to parse token: ${(err as Error).message}`, { cause: err });
    }
    if (typeof kid !== 'string' || kid === '') throw new Error(`${NOT_VERIFIED}: no key ID ("kid") specified in token`);
    if (!this.hasKid(kid) && (await this.cache.refreshForUnknownKid())) {
      this.options.logger.debug({ kid }, 'Reloaded the JWKS for a token with an unknown kid');
    }
    if (!this.hasKid(kid)) throw new Error(`${NOT_VERIFIED}: failed to find key with key ID ${JSON.stringify(kid)} in key set`);
    const now = this.options.clock.now();
    // jose checks the signature, the key's algorithm, and exp/nbf with the skew.
    const { payload } = await jwtVerify(token, this.verifier(), { clockTolerance: JWKS_CLOCK_SKEW_S, currentDate: now });
    // Then what jwx checks after them, in its order: an `iat` in the future beyond the skew (jose
    // checks `iat` only with maxTokenAge), the audience, the subject.
    if (typeof payload.iat === 'number' && payload.iat > Math.floor(now.getTime() / 1000) + JWKS_CLOCK_SKEW_S) {
      throw new Error('"iat" not satisfied');
    }
    const audiences = typeof payload.aud === 'string' ? [payload.aud] : Array.isArray(payload.aud) ? payload.aud : [];
    if (!audiences.includes(this.options.sentryId)) throw new Error('"aud" not satisfied');
    if (payload.sub === undefined) throw new Error('"sub" not satisfied: claim "sub" does not exist');
    if (payload.sub !== subject) throw new Error('"sub" not satisfied: values do not match');
  }

  private hasKid(kid: string): boolean {
    return this.cache.keys?.keys.some((key) => (key as { kid?: unknown }).kid === kid) ?? false;
  }

  /** jose's verifier for the current set, rebuilt when the cache loads a new one. */
  private verifier(): ReturnType<typeof createLocalJWKSet> {
    const set = this.cache.keys!;
    if (this.verifierFor?.set !== set) {
      const symmetricFree = { keys: set.keys.filter((key) => key.kty !== 'oct') };
      this.verifierFor = { set, verify: createLocalJWKSet(symmetricFree as JSONWebKeySet) };
    }
    return this.verifierFor.verify;
  }
}

/** Words a verification failure as jwx does, so messages match Dapr's (its tests match `"aud"`, `could not verify message`, …). */
function reasonOf(err: unknown): string {
  if (err instanceof joseErrors.JWTClaimValidationFailed || err instanceof joseErrors.JWTExpired) {
    if (err.reason === 'invalid') return `"${err.claim}" not satisfied: ${err.message}`;
    return `"${err.claim}" not satisfied`;
  }
  if (err instanceof joseErrors.JOSEError) {
    if (err instanceof joseErrors.JWTInvalid || err instanceof joseErrors.JWSInvalid) return `failed to parse token: ${err.message}`;
    return `${NOT_VERIFIED}: ${err.message}`;
  }
  return err instanceof Error ? err.message : String(err);
}
