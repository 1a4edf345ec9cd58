/**
 * The trust bundle's keys in the Secret and ConfigMap `dapr-trust-bundle` (spec 3.2), and the
 * base64 of Secret data. Key names are Dapr's defaults; Helm's `global.issuerFilenames` can
 * rename them, so a store takes them as options.
 */
import type { V1ConfigMap, V1Secret } from '@kubernetes/client-node';
import { hasJwtTexts, type BundleTexts } from '../core/bundle-texts.js';

/** Secret key per bundle part (the ConfigMap holds the `ca` key, and `jwks` when there is one). */
export type KubeBundleKeys = Record<keyof BundleTexts, string>;

/** Dapr's keys: `filepath.Base` of the configured paths (spec 3.2). */
export const DEFAULT_BUNDLE_KEYS: Readonly<KubeBundleKeys> = Object.freeze({
  ca: 'ca.crt', issuerCert: 'issuer.crt', issuerKey: 'issuer.key', jwtKey: 'jwt.key', jwks: 'jwks.json',
});
export const DEFAULT_TRUST_BUNDLE_NAME = 'dapr-trust-bundle';

/** Bundle parts in Dapr's order (ca, issuer cert, issuer key). */
export const BUNDLE_KEYS_ORDER = ['ca', 'issuerCert', 'issuerKey'] as const satisfies readonly (keyof BundleTexts)[];

export function encodeBase64(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}

/** Secret `data` decoded as UTF-8 text, key by key (a key with an empty value is present). */
export function decodeSecretData(secret: V1Secret | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(secret?.data ?? {})) out[key] = Buffer.from(value ?? '', 'base64').toString('utf8');
  return out;
}

/** The JWT parts, kept in the Secret beside the X.509 ones when the sentry issues JWT-SVIDs. */
export const JWT_KEYS_ORDER = ['jwtKey', 'jwks'] as const satisfies readonly (keyof BundleTexts)[];

/** The bundle parts present in a Secret; the JWT pair only when both keys are there (as Dapr reads it). */
export function bundlePartsOf(secret: V1Secret | undefined, keys: KubeBundleKeys): Partial<BundleTexts> {
  const data = decodeSecretData(secret);
  const parts: Partial<BundleTexts> = {};
  for (const part of BUNDLE_KEYS_ORDER) {
    const value = data[keys[part]];
    if (value !== undefined) parts[part] = value;
  }
  const jwt = { jwtKey: data[keys.jwtKey], jwks: data[keys.jwks] };
  if (hasJwtTexts(jwt)) Object.assign(parts, jwt);
  return parts;
}

/** The ConfigMap's trust anchors (`ca.crt`), undefined when the key or the object is missing. */
export function configMapCaOf(configMap: V1ConfigMap | undefined, keys: KubeBundleKeys): string | undefined {
  return configMap?.data?.[keys.ca];
}

export function resourceVersionOf(object: V1Secret | V1ConfigMap | undefined): string {
  return object?.metadata?.resourceVersion ?? '';
}
