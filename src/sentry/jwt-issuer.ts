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
 * Signing is node:crypto's callback-form `sign` (libuv's threadpool, as the certificate signer
 * uses it), over a compact JWS built here: base64url(header) "." base64url(claims), RFC 7515/7518
 * (ECDSA signatures in JWS's r||s form, RSA-PSS with a salt as long as the hash). Not `jose`:
 * measured on the dev machine, jose's SignJWT cost ~90 µs CPU per token on top of the signature
 * itself (~280 µs for RSA-2048, ~45 µs for Ed25519), mostly its WebCrypto-portable base64 and
 * promise plumbing; with one token per call for Dapr's default request that is a third of the
 * RS256 cost and twice the EdDSA one. Tokens are checked against openssl and jose as consumers in
 * the tests (test/sentry/jwt.test.ts, test/core/jwt-rotation.test.ts).
 *
 * One deliberate saving: when the request names no extra audience, the `jwt` token and
 * `per_audience_jwts[<td>]` have the very same claims, and Warden returns one token for both
 * where Dapr signs twice (the two differ only by `jti`/`iat` in Dapr). An RSA-2048 signature is
 * the dominant cost of a JWT-enabled call; `npm run bench -- jwt` measures it.
 */
import { constants, randomBytes, sign, type KeyObject, type SignKeyObjectInput, type SignPrivateKeyInput } from 'node:crypto';
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
  private readonly signer: JwsSigner;
  /** base64url of `{"alg","kid","typ":"JWT"}`, the same for every token. */
  private readonly encodedHeader: string;

  constructor(material: JwtMaterial, private readonly options: JwtIssueOptions) {
    this.signer = jwsSignerFor(material.algorithm, material.signingKey);
    this.encodedHeader = Buffer.from(JSON.stringify({ alg: material.algorithm, kid: material.keyId, typ: 'JWT' }), 'utf8').toString('base64url');
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
    const signingInput = `${this.encodedHeader}.${Buffer.from(JSON.stringify(claims), 'utf8').toString('base64url')}`;
    return new Promise((resolve, reject) => {
      sign(this.signer.digest, Buffer.from(signingInput, 'utf8'), this.signer.key, (err, signature) => {
        if (err) reject(err);
        else resolve(`${signingInput}.${signature.toString('base64url')}`);
      });
    });
  }
}

interface JwsSigner {
  digest: string | null;
  key: KeyObject | SignKeyObjectInput | SignPrivateKeyInput;
}

/** node:crypto's parameters for a JWS `alg` (RFC 7518 §3; the key fits, jwt-key.ts checked it). */
function jwsSignerFor(alg: string, key: KeyObject): JwsSigner {
  const bits = /^(?:RS|PS|ES)(256|384|512)$/.exec(alg)?.[1];
  const digest = bits === undefined ? null : `sha${bits}`;
  if (alg.startsWith('RS')) return { digest, key };
  if (alg.startsWith('PS')) return { digest, key: { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: Number(bits) / 8 } };
  if (alg.startsWith('ES')) return { digest, key: { key, dsaEncoding: 'ieee-p1363' } };
  if (alg === 'EdDSA') return { digest: null, key };
  throw new Error(`unsupported signature algorithm: ${alg}`);
}
