/** docs/errors.md documents every code Warden can report: the list in code and the doc cannot drift. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { FINDING_CODES } from '../../src/core/checks/types.js';
import { ERROR_CODES } from '../../src/core/errors.js';
import { FLEET_FINDING_CODES } from '../../src/fleet/model.js';

const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');

test('every error and finding code has a row in docs/errors.md', () => {
  const missing = [...ERROR_CODES, ...FINDING_CODES, ...FLEET_FINDING_CODES].filter((code) => !doc.includes(`| \`${code}\` |`));
  assert.deepEqual(missing, []);
});

test('docs/errors.md documents no code that does not exist', () => {
  const known = new Set<string>([...ERROR_CODES, ...FINDING_CODES, ...FLEET_FINDING_CODES]);
  const documented = [...doc.matchAll(/^\| `((?:ERR|WARN|INFO)_[A-Z_]+)` \|/gm)].map((m) => m[1]!);
  assert.deepEqual(documented.filter((code) => !known.has(code)), []);
});
