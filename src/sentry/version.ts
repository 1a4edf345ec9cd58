import { readFileSync } from 'node:fs';

let cached: string | undefined;

/** package.json's version (dist/sentry and src/sentry are both two levels below the package root). */
export function wardenVersion(): string {
  cached ??= (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  return cached;
}
