/**
 * Content versions for stores that have no native revision (the fs store): a hex SHA-256 over
 * the three texts, and the JWT pair when there is one (a bundle without it keeps its old version). The encoding is unambiguous (JSON array), so moving text from one part to
 * another always changes the version. Callers treat the result as opaque.
 */
import { createHash } from 'node:crypto';
import { hasJwtTexts, type BundleTexts } from '../core/bundle-texts.js';

export function computeBundleVersion(texts: BundleTexts): string {
  const jwt = hasJwtTexts(texts) ? [texts.jwtKey, texts.jwks] : [];
  const encoded = JSON.stringify([texts.ca, texts.issuerCert, texts.issuerKey, ...jwt]);
  return createHash('sha256').update(encoded, 'utf8').digest('hex');
}
