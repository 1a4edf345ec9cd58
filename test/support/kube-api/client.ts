/**
 * @kubernetes/client-node 1.4 against the test API server: the recipes later Kubernetes code can
 * copy (the test server does not depend on this file).
 *
 * Things about client-node 1.4 worth knowing:
 * - APIs take one object parameter: `core.readNamespacedSecret({ name, namespace })`.
 * - Errors are `ApiException` with `.code` (HTTP status) and `.body` = the response text (the
 *   JSON of a `kind: Status`; undefined for 401). `statusOf(err)` parses it.
 * - PATCH: the generated code picks the first content type of the OpenAPI list, which is
 *   `application/json-patch+json`, whatever the body is. For a merge or strategic-merge patch,
 *   override the header with the middleware helper passed as the call's second argument:
 *     apps.patchNamespacedDeployment({ name, namespace, body }, patchOptions(PatchStrategy.StrategicMergePatch))
 *   (`patchOptions` = `setHeaderOptions('Content-Type', strategy)`). Custom resources
 *   (`configurations.dapr.io`) accept only JSON patch and merge patch (strategic → 415).
 * - `Watch.watch(path, query, onEvent, onDone)` resolves to an AbortController once the stream
 *   is open; `onDone` gets an error with `.statusCode` for non-200 answers. Events whose type is
 *   'ERROR' carry a Status (410 Expired: re-list and watch again).
 * - Informers: `makeInformer(kc, path, listFn, labelSelector?)` has no field selector; for one
 *   object use `new ListWatch(path, new Watch(kc), listFn, false, undefined, 'metadata.name=x')`
 *   and `start()` it. ListWatch re-watches when a stream ends and relists after a 410.
 */
import {
  ApiException, AppsV1Api, AuthenticationV1Api, CoreV1Api, CustomObjectsApi, KubeConfig, PatchStrategy, setHeaderOptions, Watch,
} from '@kubernetes/client-node';
import type { StatusBody } from './status.js';

export { PatchStrategy };

export interface KubeClients {
  kubeConfig: KubeConfig;
  core: CoreV1Api;
  apps: AppsV1Api;
  custom: CustomObjectsApi;
  auth: AuthenticationV1Api;
  watch: Watch;
}

/** Clients from a kubeconfig file (optionally switching context, as `--context` does). */
export function makeClients(kubeconfigPath: string, context?: string): KubeClients {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(kubeconfigPath);
  if (context) kubeConfig.setCurrentContext(context);
  return {
    kubeConfig,
    core: kubeConfig.makeApiClient(CoreV1Api),
    apps: kubeConfig.makeApiClient(AppsV1Api),
    custom: kubeConfig.makeApiClient(CustomObjectsApi),
    auth: kubeConfig.makeApiClient(AuthenticationV1Api),
    watch: new Watch(kubeConfig),
  };
}

/** Per-call options that make a client-node 1.4 `patch*` call send `strategy` as its Content-Type. */
export function patchOptions(strategy: PatchStrategy = PatchStrategy.MergePatch): ReturnType<typeof setHeaderOptions> {
  return setHeaderOptions('Content-Type', strategy);
}

/** True for an ApiException (optionally with this HTTP code). */
export function isApiException(err: unknown, code?: number): err is ApiException<unknown> {
  return err instanceof ApiException && (code === undefined || err.code === code);
}

/** The `kind: Status` an ApiException carries, if its body is one. */
export function statusOf(err: unknown): StatusBody | undefined {
  if (!(err instanceof ApiException)) return undefined;
  const body: unknown = err.body;
  try {
    const parsed: unknown = typeof body === 'string' ? JSON.parse(body) : body;
    return typeof parsed === 'object' && parsed !== null && (parsed as { kind?: unknown }).kind === 'Status' ? (parsed as StatusBody) : undefined;
  } catch {
    return undefined;
  }
}
