/**
 * The gRPC status codes a signing refusal carries, as plain numbers. Code the signing threads run
 * must not import @grpc/grpc-js, not even for its types: at run time the library would load into
 * each thread's own heap (+7 MiB of heap, +5 MiB resident per thread, measured on Node 24) for
 * four numbers. `npm run lint` (dependency-cruiser) keeps it out; sign-status.test.ts checks the
 * values against @grpc/grpc-js.
 */
export const SignStatus = {
  INVALID_ARGUMENT: 3,
  PERMISSION_DENIED: 7,
  FAILED_PRECONDITION: 9,
  INTERNAL: 13,
} as const;

export type SignStatusCode = (typeof SignStatus)[keyof typeof SignStatus];
