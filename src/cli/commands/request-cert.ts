import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { WardenError } from '../../core/errors.js';
import { privateKeyToPkcs8Pem } from '../../core/keys.js';
import { goTimeString } from '../../core/thresholds.js';
import { certificatesToPem } from '../../core/certificate.js';
import type { IdentityRequest, WorkloadKeyAlgorithm } from '../../sidecar-client/sentry-client.js';
import { IDENTITY_FILE_NAMES, writeIdentityFiles } from '../../sidecar-client/write-identity.js';
import type { CliDeps } from '../deps.js';
import { assertAnchorsUsable, explainExpiredSentry } from '../request-cert-expiry.js';
import { EXIT } from '../exit-codes.js';
import type { Io } from '../io.js';
import { OUTPUT_FORMATS, printJson, printStatus, type OutputFormat } from '../output.js';

export interface RequestCertOptions {
  /** `host:port` of the sentry. */
  sentryAddress: string;
  /** App ID to request. */
  id: string;
  /** Default: env NAMESPACE, else `default` (as daprd). */
  namespace?: string;
  /** Requested trust domain; default as daprd (only control-plane IDs in the CP namespace get one). */
  trustDomain?: string;
  /** Default: env DAPR_CONTROLPLANE_TRUST_DOMAIN, else `localhost`. */
  controlPlaneTrustDomain?: string;
  /** Default: env DAPR_CONTROLPLANE_NAMESPACE, else `default`. */
  controlPlaneNamespace?: string;
  /** PEM file of the trust anchors (the bundle's ca.crt). */
  trustAnchors: string;
  /** Directory for key.pem, cert.pem, ca.pem. */
  out: string;
  /** A JWT for the sentry's JWKS validator (daprd's DAPR_SENTRY_TOKEN_FILE). */
  tokenFile?: string;
  keyAlgorithm?: WorkloadKeyAlgorithm;
  output?: OutputFormat;
}

/** What `-o json` prints. */
export interface RequestCertResult {
  spiffeId: string;
  notBefore: string;
  notAfter: string;
  issuer: string;
  dir: string;
  files: { key: string; cert: string; ca: string };
}

/**
 * `warden mtls request-cert`: one SignCertificate call as daprd makes it (the sentry is
 * authenticated by its SPIFFE ID against the given anchors), then `key.pem`, `cert.pem` (leaf +
 * issuer chain) and `ca.pem` written atomically with mode 0600. Errors: ERR_TRUST_ANCHORS_INVALID,
 * ERR_SENTRY_UNAVAILABLE, ERR_SENTRY_IDENTITY, ERR_SENTRY_REJECTED, ERR_SENTRY_RESPONSE_INVALID,
 * ERR_SENTRY_CHAIN_UNTRUSTED, ERR_STORE_IO (all exit 1); ERR_ROOT_EXPIRED when every trust anchor has
 * expired and ERR_ISSUER_EXPIRED when the sentry serves an expired chain (exit 3, as verify for the
 * same finding), naming the expiry instead of blaming the trust domain (request-cert-expiry.ts).
 */
export async function requestCertCommand(opts: RequestCertOptions, io: Io, _deps?: CliDeps): Promise<number> {
  // Loaded on use: gRPC and the identity client cost start-up time every other command should not pay.
  const { SentryClient } = await import('../../sidecar-client/sentry-client.js');
  const { readTrustAnchorsFile, StaticTrustAnchorSource } = await import('../../sidecar-client/trust-anchors.js');
  const anchorsPath = resolve(io.cwd, opts.trustAnchors);
  const anchors = await readTrustAnchorsFile(anchorsPath);
  assertAnchorsUsable(anchors.certificates, anchorsPath, io.clock.now());
  const request: IdentityRequest = {
    appId: opts.id,
    namespace: opts.namespace ?? (io.env.NAMESPACE || 'default'),
    keyAlgorithm: opts.keyAlgorithm ?? 'ed25519',
  };
  if (opts.trustDomain !== undefined) request.trustDomain = opts.trustDomain;
  if (opts.tokenFile !== undefined) {
    request.token = await readToken(resolve(io.cwd, opts.tokenFile));
    request.tokenValidator = 'JWKS';
  }
  const client = new SentryClient({
    address: opts.sentryAddress,
    trustAnchors: new StaticTrustAnchorSource(anchors.pem),
    controlPlaneTrustDomain: opts.controlPlaneTrustDomain ?? (io.env.DAPR_CONTROLPLANE_TRUST_DOMAIN || 'localhost'),
    controlPlaneNamespace: opts.controlPlaneNamespace ?? (io.env.DAPR_CONTROLPLANE_NAMESPACE || 'default'),
    clock: io.clock,
  });
  let identity;
  try {
    identity = await client.requestIdentity(request);
  } catch (error) {
    throw (await explainExpiredSentry(error, opts.sentryAddress, io.clock.now())) ?? error;
  } finally {
    client.close();
  }

  const dir = resolve(io.cwd, opts.out);
  await writeIdentityFiles(dir, {
    keyPem: privateKeyToPkcs8Pem(identity.privateKey),
    certChainPem: certificatesToPem(identity.certChain),
    anchorsPem: anchors.pem,
  });

  if (opts.output === 'json') {
    const result: RequestCertResult = {
      spiffeId: identity.spiffeId,
      notBefore: identity.notBefore.toISOString(),
      notAfter: identity.notAfter.toISOString(),
      issuer: identity.certChain[0]?.issuer.text ?? '',
      dir,
      files: {
        key: join(dir, IDENTITY_FILE_NAMES.key),
        cert: join(dir, IDENTITY_FILE_NAMES.cert),
        ca: join(dir, IDENTITY_FILE_NAMES.ca),
      },
    };
    printJson(io, result);
  } else {
    printStatus(io, 'success', `Certificate for ${identity.spiffeId} written to ${dir}, valid until ${goTimeString(identity.notAfter)}`);
  }
  return EXIT.ok;
}

/**
 * Adds `request-cert` under `warden mtls`. `run` is program.ts's runner: it stores the command's
 * exit code.
 */
export function registerRequestCertCommand(
  mtls: Command,
  io: Io,
  deps: CliDeps,
  run: (fn: () => Promise<number>) => () => Promise<void>,
): Command {
  return mtls
    .command('request-cert')
    .description('Fetch one workload certificate from a sentry, as a Dapr sidecar would, into key.pem/cert.pem/ca.pem')
    .requiredOption('--sentry-address <host:port>', 'address of the sentry gRPC endpoint')
    .requiredOption('--id <app-id>', 'app ID to request a certificate for')
    .option('--namespace <namespace>', 'namespace of the app (default: env NAMESPACE, else "default")')
    .option('--trust-domain <domain>', 'trust domain to request (default: as daprd, set only for control-plane IDs)')
    .option('--control-plane-trust-domain <domain>', 'trust domain of the sentry\'s identity (default: env DAPR_CONTROLPLANE_TRUST_DOMAIN, else "localhost")')
    .option('--control-plane-namespace <namespace>', 'namespace of the sentry (default: env DAPR_CONTROLPLANE_NAMESPACE, else "default")')
    .requiredOption('--trust-anchors <file>', 'PEM trust anchors (the trust bundle\'s ca.crt)')
    .requiredOption('--out <dir>', 'directory to write key.pem, cert.pem and ca.pem into')
    .option('--token-file <file>', 'JWT for the sentry\'s JWKS validator (as daprd\'s DAPR_SENTRY_TOKEN_FILE)')
    .addOption(new Option('--key-algorithm <algorithm>', 'algorithm of the new key').choices(['ed25519', 'ecdsa-p256']).default('ed25519'))
    .addOption(new Option('-o, --output <format>', 'output format').choices(OUTPUT_FORMATS).default('text'))
    .action(function (this: Command) {
      return run(() => requestCertCommand(this.opts<RequestCertOptions>(), io, deps))();
    });
}

async function readToken(path: string): Promise<string> {
  let token: string;
  try {
    token = (await readFile(path, 'utf8')).trim();
  } catch (error) {
    throw new WardenError('ERR_USAGE', `cannot read --token-file ${path}: ${(error as Error).message}`, { cause: error });
  }
  if (token === '') throw new WardenError('ERR_USAGE', `--token-file ${path} is empty; it must hold the JWT to present to the sentry`);
  return token;
}
