/** A bundle as the read commands see it, from a directory or a cluster (its own file: both halves import it). */
import type { BundleTexts } from '../core/bundle-texts.js';
import type { Finding } from '../core/checks/types.js';

export interface BundleSource {
  texts: BundleTexts;
  /** Names of the three parts for messages: file paths, or `Secret <ns>/<name> key ca.crt`. */
  labels: BundleTexts;
  /** Where the bundle is, for messages: a directory, or the Secret and ConfigMap. */
  where: string;
  /** How `-o json` names the location: `{ directory }`, or `{ namespace, secret, configMap }`. */
  json: Record<string, string>;
  /** Findings about how the bundle is stored (-k: ConfigMap `ca.crt` differing from the Secret's). */
  storageFindings: Finding[];
}
