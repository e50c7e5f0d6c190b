export type AdminErrorCode =
  /** No node is listening on the admin socket (not running, or another data dir). */
  | 'NODE_NOT_RUNNING'
  /** The data dir's path makes the socket path longer than a Unix socket allows. */
  | 'SOCKET_PATH_TOO_LONG'
  /** The request was malformed (unknown action, missing field). */
  | 'BAD_REQUEST'
  /** The node tried and failed; `cause` carries the node's own error code. */
  | 'FAILED'
  /** The answer was not what the admin socket speaks. */
  | 'BAD_RESPONSE';

/** A call on the node's admin socket failed; `nodeCode` is the node-side error's code when it had one. */
export class AdminError extends Error {
  override readonly name = 'AdminError';
  constructor(
    readonly code: AdminErrorCode,
    message: string,
    options?: ErrorOptions & { readonly nodeCode?: string },
  ) {
    super(message, options);
    this.nodeCode = options?.nodeCode;
  }

  readonly nodeCode: string | undefined;
}
