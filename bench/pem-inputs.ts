/**
 * Crafted PEM inputs that made the previous, regular-expression decoder backtrack (issue 12 item
 * 1), each built to a given size; shared by `npm run bench -- pem` (time) and
 * test/core/pem-adversarial.test.ts (results). `expect` is what decoding gives: no block, or the
 * ERR_PEM_INVALID message it is refused with.
 */
export interface AdversarialPem {
  name: string;
  make(size: number): string;
  expect: 'none' | RegExp;
}

/** The sentry's gRPC message cap (`maxReceiveMessageBytes`, 64 KiB): the most one request can carry. */
export const MESSAGE_CAP = 64 * 1024;

/** `prefix`, as many `unit`s as fit, `suffix`: at most `size` characters. */
export function repeatTo(size: number, unit: string, prefix = '', suffix = ''): string {
  const count = Math.max(0, Math.floor((size - prefix.length - suffix.length) / unit.length));
  return prefix + unit.repeat(count) + suffix;
}

export const ADVERSARIAL_PEM: readonly AdversarialPem[] = [
  // Cubic before: every BEGIN started a lazy search for an END through the rest of the input.
  { name: 'one run of "-----BEGIN "', make: (n) => repeatTo(n, '-----BEGIN '), expect: 'none' },
  { name: 'BEGIN lines without END', make: (n) => repeatTo(n, '-----BEGIN CERTIFICATE REQUEST-----\n'), expect: 'none' },
  { name: 'BEGIN then dashes', make: (n) => repeatTo(n, '-', '-----BEGIN '), expect: 'none' },
  { name: 'nested BEGINs, one END', make: (n) => repeatTo(n, '-----BEGIN A-----\n', '', '-----END A-----\n'), expect: /not base64/ },
  // Quadratic before: the body expression retried every whitespace split.
  { name: 'whitespace body, stray character', make: (n) => repeatTo(n, ' ', '-----BEGIN A-----\n', '!\n-----END A-----\n'), expect: /not base64/ },
  { name: 'near-base64 body', make: (n) => repeatTo(n, 'QUJD\n', '-----BEGIN A-----\n', 'QUJ!\n-----END A-----\n'), expect: /not base64/ },
  { name: 'run of "-----END "', make: (n) => repeatTo(n, '-----END ', '-----BEGIN A-----\nAQID\n'), expect: /is closed by END/ },
];

/** A valid block of (about) `size` characters: what a benign input of that size costs. */
export function benignPem(size: number): string {
  const lines = repeatTo(size - 80, 'QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2\n');
  return `-----BEGIN CERTIFICATE REQUEST-----\n${lines}-----END CERTIFICATE REQUEST-----\n`;
}
