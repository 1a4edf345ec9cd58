/**
 * Headless Chromium for the page tests: Debian's `chromium` package driven by playwright-core
 * (which downloads no browser of its own). Without it the browser tests are skipped locally with a
 * message and fail on CI (CI=true), where .ci/run installs it.
 */
import { existsSync } from 'node:fs';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';

/** The browser binary: $WARDEN_CHROMIUM, else Debian's /usr/bin/chromium. */
export const CHROMIUM_PATH = process.env.WARDEN_CHROMIUM ?? '/usr/bin/chromium';

/** Why the browser tests cannot run here, or null when they can. */
export function chromiumMissing(): string | null {
  if (existsSync(CHROMIUM_PATH)) return null;
  return `no Chromium at ${CHROMIUM_PATH}: install it (apt-get install -y chromium; .ci/run does) or set WARDEN_CHROMIUM`;
}

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: ['--no-sandbox', '--disable-gpu'] });
}

/** Where screenshots go (gitignored): test-artifacts/monitor/. */
export function artifactPath(name: string): string {
  const dir = join(import.meta.dirname, '..', '..', 'test-artifacts', 'monitor');
  mkdirSync(dir, { recursive: true });
  return join(dir, name);
}
