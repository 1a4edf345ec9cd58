/**
 * The path from the issuer to a trust anchor, built as Go's `Certificate.Verify` builds it (Dapr
 * verifies `issuerChain[0]` against the anchors with the rest of issuer.crt as an unordered
 * intermediate pool, spec 2.7): anchors are tried before intermediates at each step, in file order.
 * Only names and signatures count here; validity, CA flags and EKUs are separate checks, so each
 * problem is reported once under its own code. Memoised per bundle (bundles are immutable).
 */
import { isIssuedBy, isSelfSigned, type Certificate } from '../certificate.js';

/** What a path is built from: a TrustBundle's anchors and issuer chain (structural, so bundle.ts can use this file). */
export interface ChainParts {
  readonly anchors: readonly Certificate[];
  readonly issuerChain: readonly Certificate[];
}

export interface TrustPath {
  /** Indexes into `bundle.issuerChain`, issuer (0) first, then each intermediate used, upwards. */
  chainIndexes: number[];
  /** Index into `bundle.anchors` of the anchor the path ends at. */
  anchorIndex: number;
  /** The certificates in path order: issuer, intermediates, then the anchor (once, even when the issuer is the anchor). */
  certificates: Certificate[];
}

/** `isIssuedBy` that answers false instead of throwing (unsupported algorithm, odd key). */
export function safeIsIssuedBy(child: Certificate, parent: Certificate): boolean {
  try {
    return isIssuedBy(child, parent);
  } catch {
    return false;
  }
}

/** `isSelfSigned` that answers false instead of throwing. */
export function safeIsSelfSigned(cert: Certificate): boolean {
  try {
    return isSelfSigned(cert);
  } catch {
    return false;
  }
}

const cache = new WeakMap<ChainParts, TrustPath | null>();

/** The issuer's path to an anchor, or undefined when it chains to none (ERR_ISSUER_NOT_FROM_ANCHORS). */
export function resolveTrustPath(bundle: ChainParts): TrustPath | undefined {
  let path = cache.get(bundle);
  if (path === undefined) {
    path = buildPath(bundle) ?? null;
    cache.set(bundle, path);
  }
  return path ?? undefined;
}

function buildPath(bundle: ChainParts): TrustPath | undefined {
  const chain = bundle.issuerChain;
  if (chain.length === 0) return undefined;
  const found = extend(bundle, [0]);
  if (found === undefined) return undefined;
  const certificates = found.chainIndexes.map((i) => chain[i] as Certificate);
  const anchor = bundle.anchors[found.anchorIndex] as Certificate;
  if (!(certificates.at(-1) as Certificate).der.equals(anchor.der)) certificates.push(anchor);
  return { ...found, certificates };
}

/** Depth-first, anchors first; `used` never repeats an index, so the search ends. */
function extend(bundle: ChainParts, used: number[]): Omit<TrustPath, 'certificates'> | undefined {
  const current = bundle.issuerChain[used.at(-1) as number] as Certificate;
  const anchorIndex = bundle.anchors.findIndex((anchor) => safeIsIssuedBy(current, anchor));
  if (anchorIndex >= 0) return { chainIndexes: used, anchorIndex };
  for (let i = 1; i < bundle.issuerChain.length; i++) {
    if (used.includes(i) || !safeIsIssuedBy(current, bundle.issuerChain[i] as Certificate)) continue;
    const found = extend(bundle, [...used, i]);
    if (found !== undefined) return found;
  }
  return undefined;
}

/**
 * The anchors that count as "the root" for the root checks: the one the path ends at, or every
 * anchor when there is no path (the bundle is broken anyway; report on all of them).
 */
export function rootAnchorIndexes(bundle: ChainParts): number[] {
  const path = resolveTrustPath(bundle);
  return path ? [path.anchorIndex] : bundle.anchors.map((_, i) => i);
}

/** Anchors the issuer does not chain to (old or future roots kept for peers during a rotation). */
export function extraAnchorIndexes(bundle: ChainParts): number[] {
  const roots = new Set(rootAnchorIndexes(bundle));
  return bundle.anchors.map((_, i) => i).filter((i) => !roots.has(i));
}
