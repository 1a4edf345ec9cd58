/**
 * What each rotation phase writes, as pure functions of (bundle before the rotation, new bundle).
 * The new bundle ("material") holds the new root(s) as its anchors and the new issuer chain and
 * key. Targets never depend on the time or on what the store holds now, so a resumed rotation
 * computes exactly the bytes the interrupted one would have written.
 */
import { TrustBundle } from '../bundle.js';
import type { Certificate } from '../certificate.js';
import type { WritePhase } from './phases.js';

export type PhaseTargets = Readonly<Record<WritePhase, TrustBundle>>;

/** `first` followed by those of `second` not already in it (same DER), order kept. */
export function mergeAnchors(first: readonly Certificate[], second: readonly Certificate[]): Certificate[] {
  const merged: Certificate[] = [];
  for (const cert of [...first, ...second]) {
    if (!merged.some((c) => c.der.equals(cert.der))) merged.push(cert);
  }
  return merged;
}

/** add-anchor: ca.crt = old roots + new root(s); issuer chain and key unchanged. */
export function addAnchorTarget(original: TrustBundle, material: TrustBundle): TrustBundle {
  return original.withAnchors(mergeAnchors(original.anchors, material.anchors));
}

/**
 * switch-issuer: the new issuer chain and key; ca.crt keeps both roots, in the same order as
 * add-anchor wrote them, so this write does not change ca.crt at all.
 */
export function switchIssuerTarget(original: TrustBundle, material: TrustBundle): TrustBundle {
  return new TrustBundle(mergeAnchors(original.anchors, material.anchors), material.issuerChain, material.issuerKey);
}

/** retire-old-root: the new bundle as it is (ca.crt = new root(s) only). */
export function retireTarget(material: TrustBundle): TrustBundle {
  return new TrustBundle([...material.anchors], material.issuerChain, material.issuerKey);
}

/** All three targets. */
export function computePhaseTargets(original: TrustBundle, material: TrustBundle): PhaseTargets {
  return Object.freeze({
    'add-anchor': addAnchorTarget(original, material),
    'switch-issuer': switchIssuerTarget(original, material),
    'retire-old-root': retireTarget(material),
  });
}
