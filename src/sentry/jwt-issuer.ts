/**
 * JWT-SVIDs as Dapr's Sentry issues them with `--jwt-enabled` (spec 1.3, 1.4 step 9;
 * `pkg/sentry/server/ca/jwt/jwt.go`, `pkg/sentry/server/server.go`):
 *
 * - header `{"alg", "kid", "typ": "JWT"}` (jwx adds `typ`), claims in jwx's (sorted) order:
 *   `aud` (always an array), `exp` = now + `--jwt-ttl`, `iat` = now, `iss` only with
 *   `--jwt-issuer`, `jti` (16 random bytes, hex), `nbf` = now − the allowed clock skew,
 *   `sub` = `spiffe://<td>/ns/<ns>/<id>`, `use: "sig"`; times in whole seconds;
 * - the `jwt` field has audiences `[<td>, ...jwt_audiences]`; `per_audience_jwts` one token per
 *   audience (Dapr 1.18).
 *
 * Signing uses `jose` (panva/jose, the well-kept JOSE library for Node; it signs through WebCrypto,
 * which runs the RSA/EC/Ed25519 operation on libuv's threadpool as the certificate signer's
 * callback-form `crypto.sign` does, so the main thread only builds JSON and base64url).
 *
 * One deliberate saving: when the request names no extra audience, the `jwt` token and
 * `per_audience_jwts[<td>]` have the very same claims, and Warden returns one token for both
 * where Dapr signs twice (the two differ only by `jti`/`iat` in Dapr). An RSA-2048 signature is
 * the dominant cost of a JWT-enabled call; `npm run bench -- jwt` measures it.
 */
import { randomBytes, type KeyObject } from 'node:crypto';
import { SignJWT } from 'jose';
import type { JwtMaterial } from '../core/jwt-key.js';

export interface JwtIssueOptions {
  /** `--jwt-issuer`; undefined leaves `iss` out. */
  issuer?: string | undefined;
  /** `--jwt-ttl`. */
  ttlMs: number;
  /** The Configuration's allowed clock skew (`nbf` = now − skew). */
  clockSkewMs: number;
}

export interface JwtRequest {
  /** The SPIFFE ID the leaf certifies (`sub`). */
  spiffeId: string;
  /** The trust domain of that ID: the default audience. */
  trustDomain: string;
  /** `jwt_audiences` of the request. */
  extraAudiences: readonly string[];
  /** Issuing time (epoch ms) from the sentry's clock. */
  atMs: number;
}

export interface IssuedJwts {
  jwt: string;
  perAudience: Record<string, string>;
}

/** Signs the JWT-SVIDs of one response with one CA state's JWT material. */
export class JwtIssuer {
  private readonly key: KeyObject;
  private readonly header: { alg: string; kid: string; typ: 'JWT' };

  constructor(material: JwtMaterial, private readonly options: JwtIssueOptions) {
    this.key = material.signingKey;
    this.header = { alg: material.algorithm, kid: material.keyId, typ: 'JWT' };
  }

  /** The `jwt` and `per_audience_jwts` of one response. Rejects with the signer's error. */
  async issue(req: JwtRequest): Promise<IssuedJwts> {
    const audiences = [req.trustDomain, ...req.extraAudiences];
    const distinct = [...new Set(audiences)];
    if (distinct.length === 1) {
      const token = await this.sign(req, audiences);
      return { jwt: token, perAudience: { [req.trustDomain]: token } };
    }
    const [jwt, ...each] = await Promise.all([this.sign(req, audiences), ...distinct.map((aud) => this.sign(req, [aud]))]);
    const perAudience: Record<string, string> = {};
    distinct.forEach((aud, i) => { perAudience[aud] = each[i]!; });
    return { jwt: jwt!, perAudience };
  }

  /** One token for `audiences` (exported for tests and the benchmark). */
  sign(req: JwtRequest, audiences: readonly string[]): Promise<string> {
    const now = Math.floor(req.atMs / 1000);
    const claims: Record<string, unknown> = {
      aud: [...audiences],
      exp: Math.floor((req.atMs + this.options.ttlMs) / 1000),
      iat: now,
      ...(this.options.issuer === undefined ? {} : { iss: this.options.issuer }),
      jti: randomBytes(16).toString('hex'),
      nbf: Math.floor((req.atMs - this.options.clockSkewMs) / 1000),
      sub: req.spiffeId,
      use: 'sig',
    };
    return new SignJWT(claims).setProtectedHeader(this.header).sign(this.key);
  }
}
