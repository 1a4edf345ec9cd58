/**
 * Token validators (spec 1.5). Self-hosted Sentry enables INSECURE, which applies Dapr's common
 * request rules and grants whatever identity the request claims, unless the Configuration lists
 * token validators: then only those (JWKS, validators/jwks.ts). Kubernetes mode always enables
 * KUBERNETES (validators/kubernetes.ts), plus JWKS when configured.
 */
import { validateSignRequest } from '../core/spiffe-id.js';
import type { SentryMode } from './options.js';
import { TOKEN_VALIDATORS, type SignCertificateRequest, type TokenValidatorName } from '../wire/sentry-proto.js';

export interface Validator {
  readonly name: TokenValidatorName;
  /** Returns the trust domain to issue in; throws a WardenError whose message is sent to the client. */
  validate(req: SignCertificateRequest): string | Promise<string>;
}

export const insecureValidator: Validator = {
  name: 'INSECURE',
  validate: (req) =>
    validateSignRequest({
      id: req.id,
      namespace: req.namespace,
      trustDomain: req.trust_domain,
      csr: req.certificate_signing_request,
    }),
};

/** Validator choice: the validator itself, or Dapr's InvalidArgument message when there is none. */
export type ValidatorChoice = { validator: Validator } | { error: string };

/**
 * Picks the validator for a request (spec 1.4 step 2): the requested one if enabled; for `UNKNOWN`
 * the mode's default: KUBERNETES in kubernetes mode, INSECURE in standalone while it is enabled
 * (Dapr: none when a custom validator is configured, so the request must name one). `enabled`
 * defaults to the mode's set without the KUBERNETES validator, which needs API clients and is passed in.
 */
export function selectValidator(
  requested: TokenValidatorName | number,
  mode: SentryMode,
  enabled: readonly Validator[] = mode === 'standalone' ? [insecureValidator] : [],
): ValidatorChoice {
  const defaultName: TokenValidatorName | undefined = mode === 'kubernetes'
    ? 'KUBERNETES'
    : enabled.some((v) => v.name === 'INSECURE') ? 'INSECURE' : undefined;
  // A number is the enum's value (an unknown one matches no validator).
  const asName = typeof requested === 'number' ? TOKEN_VALIDATORS[requested] ?? requested : requested;
  const unknown = asName === 'UNKNOWN';
  if (unknown && defaultName === undefined) return { error: 'a validator name must be specified in this environment' };
  const name = unknown ? defaultName : asName;
  const validator = enabled.find((v) => v.name === name);
  return validator !== undefined ? { validator } : { error: 'the requested validator is not enabled' };
}
