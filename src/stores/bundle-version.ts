/**
 * Content versions for stores that have no native revision (the fs store): a hex SHA-256 over
 * the three texts. The encoding is unambiguous (JSON array), so moving text from one part to
 * another always changes the version. Callers treat the result as opaque.
 */
import { createHash } from 'node:crypto';
import type { BundleTexts } from '../core/bundle-texts.js';

export function computeBundleVersion(texts: BundleTexts): string {
  const encoded = JSON.stringify([texts.ca, texts.issuerCert, texts.issuerKey]);
  return createHash('sha256').update(encoded, 'utf8').digest('hex');
}
