import { CHECK_ERROR_CODES, isWardenError, type ErrorCode } from '../core/errors.js';

/**
 * Warden's exit codes (the only place errors become exit codes; design §4).
 *
 * | code | meaning                                                                      |
 * |------|------------------------------------------------------------------------------|
 * | 0    | success (warnings may have been printed)                                     |
 * | 1    | the operation failed (bundle missing or partial, I/O error, bad input file)  |
 * | 2    | usage error: unknown option, missing or invalid argument, unsupported mode   |
 * | 3    | checks found an error in a trust bundle (verify, expiry on an expired bundle, or a renew refused) |
 *
 * Kubernetes failures (ERR_KUBE_UNREACHABLE, ERR_KUBE_FORBIDDEN, ERR_KUBE_NOT_FOUND, ERR_KUBE_API,
 * ERR_DAPR_NOT_FOUND) are operation failures: 1. ERR_TRUST_ANCHORS_MISMATCH is a check finding: 3,
 * and so is ERR_BACKUP_EXPIRED (rollback's check chain refusing an expired backup).
 *
 * Dapr's CLI exits 255 on usage errors (cobra + `os.Exit(-1)`) and 0 when `mtls expiry` fails;
 * Warden uses 2 and 1 for those (spec 6.7), and 3 when `mtls expiry` finds an expired certificate.
 */
export const EXIT = {
  ok: 0,
  failed: 1,
  usage: 2,
  checksFailed: 3,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

const USAGE_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['ERR_USAGE', 'ERR_DURATION_INVALID']);

/** Codes raised by the trust-bundle check chain (src/core/checks), plus the Secret/ConfigMap anchors mismatch that `verify -k` reports as a finding. */
const CHECK_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([...CHECK_ERROR_CODES, 'ERR_TRUST_ANCHORS_MISMATCH', 'ERR_BACKUP_EXPIRED']);

/** Maps a thrown value to an exit code: WardenError codes as in the table above, anything else 1. */
export function exitCodeForError(error: unknown): ExitCode {
  if (!isWardenError(error)) return EXIT.failed;
  if (USAGE_CODES.has(error.code)) return EXIT.usage;
  if (CHECK_CODES.has(error.code)) return EXIT.checksFailed;
  return EXIT.failed;
}
