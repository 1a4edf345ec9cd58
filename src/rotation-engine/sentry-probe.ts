/**
 * Looks at what a running sentry actually serves, with a real SignCertificate call made as daprd
 * makes it (fresh key, empty CSR, the server authenticated by its SPIFFE ID against the given trust
 * anchors): which issuer signs, and which trust anchors it hands out in `trust_chain_certificates`.
 * The rotation uses it to confirm the sentry reloaded a phase's bundle; doctor uses it to tell a
 * sentry that runs on a stale or expired bundle.
 *
 * The identity client (`SentryClient`) hides `trust_chain_certificates`, which is the only place a
 * reload of `ca.crt` alone is visible, so the call is made here with the same wire module and the
 * same SPIFFE server check.
 */
import { isIP } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { parseCertificatesPem } from '../core/certificate.js';
import { systemClock } from '../core/clock.js';
import { createCsr } from '../core/csr.js';
import { buildSpiffeId } from '../core/spiffe-id.js';
import { generatePrivateKey } from '../core/keys.js';
import { encodePem } from '../core/pem.js';
import { spiffeServerIdentityCheck } from '../sidecar-client/peer-id.js';
import type { ProbeResult, SentryProbeTarget } from './sentry-compare.js';
import { sentryCaClientConstructor, type SignCertificateResponseMessage } from '../wire/sentry-proto.js';

/** The app ID the probe asks a certificate for (never used for anything else). */
export const PROBE_APP_ID = 'warden-rotation-probe';

/** One SignCertificate call against `target`, trusting `anchorsPem`. Never throws. */
export async function probeSentry(target: SentryProbeTarget, anchorsPem: string): Promise<ProbeResult> {
  const sentryId = buildSpiffeId(target.controlPlaneTrustDomain ?? 'localhost', target.controlPlaneNamespace ?? 'default', 'dapr-sentry');
  let identityRefusal: string | undefined;
  const checkServerIdentity = spiffeServerIdentityCheck(sentryId, {
    code: 'ERR_SENTRY_IDENTITY',
    onMismatch: (error) => {
      identityRefusal = error.message;
    },
  });
  const credentials = grpc.credentials.createSsl(Buffer.from(anchorsPem), null, null, { checkServerIdentity });
  const options: grpc.ChannelOptions = isIP(hostOf(target.address)) !== 0 ? { 'grpc.ssl_target_name_override': 'dapr-sentry' } : {};
  const Client = sentryCaClientConstructor();
  const client = new Client(target.address, credentials, options);
  try {
    const key = generatePrivateKey('ed25519');
    const request = {
      id: PROBE_APP_ID,
      token: '',
      trust_domain: '',
      namespace: 'default',
      certificate_signing_request: Buffer.from(encodePem('CERTIFICATE REQUEST', createCsr(key))),
      token_validator: 'UNKNOWN' as const,
      jwt_audiences: [],
    };
    // A transport deadline on the real clock, whatever clock the caller injects elsewhere.
    const deadline = systemClock.now().getTime() + (target.deadlineMs ?? 3000);
    const response = await new Promise<SignCertificateResponseMessage>((resolve, reject) => {
      client.SignCertificate(request, new grpc.Metadata(), { deadline }, (error, res) => {
        if (error) reject(error);
        else if (res === undefined) reject(new Error('empty response'));
        else resolve(res);
      });
    });
    try {
      return {
        ok: true,
        observation: {
          chain: parseCertificatesPem(response.workload_certificate),
          trustAnchors: response.trust_chain_certificates.flatMap((pem) => parseCertificatesPem(pem)),
        },
      };
    } catch (error) {
      return { ok: false, failure: 'invalid', message: `the sentry's response does not parse: ${(error as Error).message}` };
    }
  } catch (error) {
    const e = error as grpc.ServiceError;
    const details = (e.details ?? e.message ?? String(error)).replace(/\.? Resolution note: $/, '');
    if (identityRefusal !== undefined) return { ok: false, failure: 'identity', message: identityRefusal };
    if (/certificate|self[- ]signed|unable to (get|verify)/i.test(details) && e.code === grpc.status.UNAVAILABLE) {
      return { ok: false, failure: 'identity', message: `the sentry's certificate does not verify against the expected trust anchors (${details})` };
    }
    if (e.code === grpc.status.UNAVAILABLE || e.code === grpc.status.DEADLINE_EXCEEDED || e.code === undefined) {
      return { ok: false, failure: 'unreachable', message: `the sentry at ${target.address} is not reachable (${details})` };
    }
    const status = grpc.status[e.code] ?? String(e.code);
    return { ok: false, failure: 'refused', status, message: `the sentry refused to sign: ${status}: ${details}` };
  } finally {
    client.close();
  }
}

function hostOf(address: string): string {
  const bracketed = /^\[([^\]]+)\]/.exec(address);
  if (bracketed) return bracketed[1] as string;
  const colon = address.lastIndexOf(':');
  return colon === -1 ? address : address.slice(0, colon);
}
