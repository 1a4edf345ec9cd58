/** Fixed keys for golden tests (generated once with openssl genpkey; test material only). */
import { readFileSync } from 'node:fs';
import type { KeyObject } from 'node:crypto';
import { parsePrivateKeyPem } from '../../src/core/keys.js';

const dir = new URL('../golden/keys/', import.meta.url);

export function fixedKey(name: `${'root' | 'issuer' | 'leaf'}-${'ed25519' | 'p256'}` | 'issuer-rsa'): KeyObject {
  return parsePrivateKeyPem(readFileSync(new URL(`${name}.pem`, dir)));
}
