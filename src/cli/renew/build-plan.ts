import { hasJwtTexts } from '../../core/bundle-texts.js';
import { jwtMaterialToTexts, parseJwtMaterial } from '../../core/jwt-key.js';
import { rotateJwtMaterial } from '../../core/jwt-rotation.js';
import type { KeyObject } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { generateTrustBundle, TrustBundle } from '../../core/bundle.js';
import type { BundleTexts } from '../../core/bundle-texts.js';
import type { Finding } from '../../core/checks/index.js';
import { WardenError } from '../../core/errors.js';
import { keyAlgorithmOf, parsePrivateKeyPem, type KeyAlgorithm } from '../../core/keys.js';
import { DAY_MS } from '../../core/thresholds.js';
import { fileIoError } from '../atomic-file.js';
import type { BundleLocation } from '../bundle-source.js';
import { inFile } from '../bundle-source.js';
import { parseBundleForChecks } from '../findings.js';
import type { Io } from '../io.js';
import { trustDomainOfBundle, type CurrentBundle } from './current-bundle.js';
import { RENEW_DEFAULTS, type RenewOptions, type RenewSource } from './options.js';

/** The new bundle renew-certificate will install, computed before anything is written (any backend). */
export interface RenewBundle {
  source: RenewSource;
  current: CurrentBundle;
  /** The texts that will be written: generated ones, or the provided files verbatim (as Dapr). */
  texts: BundleTexts;
  /** The parsed new bundle; undefined when a provided file does not parse (see parseFindings). */
  bundle: TrustBundle | undefined;
  /** Parse failures of provided files, as error findings. */
  parseFindings: Finding[];
  /** The new root's private key, when Warden has it (generated or --private-key). */
  rootKey: KeyObject | undefined;
  /** Absolute path for --root-key-out. */
  rootKeyOut: string | undefined;
  /** Generation parameters (not for provided certificates). */
  generated?: {
    trustDomain: string;
    trustDomainOrigin: TrustDomainOrigin;
    namespace: string;
    rootKeyAlgorithm: KeyAlgorithm;
    issuerKeyAlgorithm: 'ed25519' | 'ecdsa-p256';
    /** Where the issuer key algorithm came from when not from --key-algorithm (the current bundle, the cluster's Dapr version, the default). */
    keyAlgorithmOrigin?: string;
    /** The current issuer's key algorithm, when there is a readable current bundle (to say when it changes). */
    previousKeyAlgorithm?: KeyAlgorithm;
    /** `--valid-until` in days (fractional when given as a Go duration such as `1h`). */
    validUntilDays: number;
    allowedClockSkewMs: number;
    /** Where the skew came from when not from --allowed-clock-skew (e.g. the daprsystem Configuration). */
    allowedClockSkewOrigin?: string;
  };
}

/** Everything self-hosted renew-certificate will do: the new bundle and the directory it goes to. */
export interface RenewPlan extends RenewBundle {
  location: BundleLocation;
}

export type TrustDomainOrigin = 'flag' | 'current bundle' | 'default' | 'daprsystem Configuration';

/**
 * Values a backend knows better than the self-hosted defaults (Kubernetes: the cluster's trust
 * domain, the Dapr namespace, the Configuration's clock skew). Flags still win over these.
 */
export interface GenerationDefaults {
  trustDomain?: { value: string; origin: TrustDomainOrigin };
  namespace?: string;
  allowedClockSkew?: { ms: number; origin: string };
  keyAlgorithm?: { value: 'ed25519' | 'ecdsa-p256'; origin: string };
}

/** Builds the new bundle in memory for the chosen path. Reads input files; writes nothing. */
export async function buildRenewPlan(
  opts: RenewOptions,
  source: RenewSource,
  location: BundleLocation,
  current: CurrentBundle,
  io: Io,
): Promise<RenewPlan> {
  return { ...(await buildRenewBundle(opts, source, current, io)), location };
}

/**
 * The new bundle for the chosen path, whatever store it goes to; `defaults` replace the
 * self-hosted defaults (flags still win). Reads input files; writes nothing.
 */
export async function buildRenewBundle(...args: Parameters<typeof buildX509RenewBundle>): Promise<RenewBundle> {
  const [, , current, io] = args;
  return withRotatedJwtKey(await buildX509RenewBundle(...args), current, io.clock.now());
}

/**
 * The JWT signing key is renewed with the issuer (Warden's definition of its lifetime,
 * src/core/jwt-rotation.ts): when the store holds a JWT pair, the new bundle gets a new key of the
 * same type, and jwks.json keeps the old public key, retired, until every token it signed has
 * expired. A JWT pair that does not parse is left as it is (the store keeps it; verify reports it).
 */
export function withRotatedJwtKey(renewed: RenewBundle, current: CurrentBundle, now: Date): RenewBundle {
  if (current.state !== 'complete' || !hasJwtTexts(current.texts)) return renewed;
  let material;
  try {
    material = parseJwtMaterial(current.texts);
  } catch {
    return renewed;
  }
  const rotated = rotateJwtMaterial(material, { now });
  return {
    ...renewed,
    texts: { ...renewed.texts, ...jwtMaterialToTexts(rotated) },
    bundle: renewed.bundle?.withJwt(rotated),
  };
}

async function buildX509RenewBundle(
  opts: RenewOptions,
  source: RenewSource,
  current: CurrentBundle,
  io: Io,
  defaults: GenerationDefaults = {},
): Promise<RenewBundle> {
  const rootKeyOut = opts.rootKeyOut === undefined ? undefined : resolve(io.cwd, opts.rootKeyOut);
  if (rootKeyOut !== undefined) await assertNoFile(rootKeyOut);
  if (source === 'provided') {
    const paths = {
      ca: resolve(io.cwd, opts.caRootCertificate ?? ''),
      issuerCert: resolve(io.cwd, opts.issuerPublicCertificate ?? ''),
      issuerKey: resolve(io.cwd, opts.issuerPrivateKey ?? ''),
    };
    const texts: BundleTexts = {
      ca: await readInput(paths.ca, '--ca-root-certificate'),
      issuerCert: await readInput(paths.issuerCert, '--issuer-public-certificate'),
      issuerKey: await readInput(paths.issuerKey, '--issuer-private-key'),
    };
    const parsed = parseBundleForChecks(texts, paths);
    return {
      source, current, texts, rootKeyOut,
      bundle: parsed.bundle,
      parseFindings: parsed.findings,
      rootKey: undefined,
    };
  }

  const rootKey = source === 'private-key' ? await readRootKey(resolve(io.cwd, opts.privateKey ?? '')) : undefined;
  const fromBundle = trustDomainOfBundle(current);
  const trustDomainDefault = defaults.trustDomain
    ?? { value: fromBundle ?? RENEW_DEFAULTS.trustDomain, origin: fromBundle !== undefined ? 'current bundle' as const : 'default' as const };
  const trustDomain = opts.trustDomain ?? trustDomainDefault.value;
  const trustDomainOrigin = opts.trustDomain !== undefined ? 'flag' : trustDomainDefault.origin;
  const namespace = opts.namespace ?? defaults.namespace ?? (io.env.NAMESPACE || RENEW_DEFAULTS.namespace);
  const previousKeyAlgorithm = currentKeyAlgorithm(current);
  const { value: issuerKeyAlgorithm, origin: keyAlgorithmOrigin } = chooseKeyAlgorithm(opts, previousKeyAlgorithm, defaults);
  const validUntilDays = opts.validUntil ?? RENEW_DEFAULTS.validUntilDays;
  const allowedClockSkewMs = opts.allowedClockSkew ?? defaults.allowedClockSkew?.ms ?? RENEW_DEFAULTS.allowedClockSkewMs;
  const allowedClockSkewOrigin = opts.allowedClockSkew === undefined ? defaults.allowedClockSkew?.origin : undefined;

  const generated = generateTrustBundle({
    clock: io.clock,
    trustDomain,
    namespace,
    keyAlgorithm: issuerKeyAlgorithm,
    validityMs: validUntilDays * DAY_MS,
    clockSkewMs: allowedClockSkewMs,
    ...(rootKey ? { rootKey } : {}),
  });
  return {
    source, current, rootKeyOut,
    texts: generated.bundle.toTexts(),
    bundle: generated.bundle,
    parseFindings: [],
    rootKey: generated.rootKey,
    generated: {
      trustDomain,
      trustDomainOrigin,
      namespace,
      rootKeyAlgorithm: keyAlgorithmOf(generated.rootKey),
      issuerKeyAlgorithm,
      ...(keyAlgorithmOrigin !== undefined ? { keyAlgorithmOrigin } : {}),
      ...(previousKeyAlgorithm !== undefined ? { previousKeyAlgorithm } : {}),
      validUntilDays,
      allowedClockSkewMs,
      ...(allowedClockSkewOrigin !== undefined ? { allowedClockSkewOrigin } : {}),
    },
  };
}

/** The current issuer's key algorithm; undefined when there is none or it cannot be read. */
function currentKeyAlgorithm(current: CurrentBundle): KeyAlgorithm | undefined {
  if (current.state !== 'complete' || current.issuer === undefined) return undefined;
  try {
    return keyAlgorithmOf(current.issuer.publicKey);
  } catch {
    return undefined;
  }
}

/**
 * --key-algorithm wins; else the current bundle's algorithm is kept when Warden can generate it
 * (a renewal must not silently switch a P-256 bundle to Ed25519); else the backend's default (the
 * cluster's Dapr version), else Ed25519.
 */
function chooseKeyAlgorithm(
  opts: RenewOptions,
  previous: KeyAlgorithm | undefined,
  defaults: GenerationDefaults,
): { value: 'ed25519' | 'ecdsa-p256'; origin: string | undefined } {
  if (opts.keyAlgorithm !== undefined) return { value: opts.keyAlgorithm, origin: undefined };
  if (previous === 'ed25519' || previous === 'ecdsa-p256') return { value: previous, origin: 'kept from the current bundle' };
  if (defaults.keyAlgorithm !== undefined) return defaults.keyAlgorithm;
  return { value: RENEW_DEFAULTS.keyAlgorithm, origin: 'default' };
}

/** Refuses an existing --root-key-out file up front (apply also creates it exclusively). */
async function assertNoFile(path: string): Promise<void> {
  const found = await stat(path).then(() => true, (error: NodeJS.ErrnoException) => error.code !== 'ENOENT');
  if (found) {
    throw new WardenError(
      'ERR_FILE_IO',
      `--root-key-out ${path} already exists; Warden never overwrites a key file: choose another path or move the old file away`,
    );
  }
}

async function readInput(path: string, flag: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw fileIoError(`cannot read ${flag} file ${path}`, error);
  }
}

/** Reads and parses the --private-key root key; the key's algorithm must be one Warden supports. */
async function readRootKey(path: string): Promise<KeyObject> {
  const text = await readInput(path, '--private-key');
  try {
    const key = parsePrivateKeyPem(text);
    keyAlgorithmOf(key);
    return key;
  } catch (error) {
    throw inFile(error, path);
  }
}
