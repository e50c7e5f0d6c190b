/**
 * Why a node could not start, beyond its configuration (`NodeConfigError`) and its store (`NodeStoreError`).
 * The message is one line for the operator; callers branch on `code`.
 */

/** The node's listeners, as an operator knows them from node.yaml. */
export type NodeListener = 'gRPC' | 'operations' | 'p2p';

export type NodeStartErrorCode =
  /** Another process listens on the address a listener was configured with. */
  | 'PORT_IN_USE'
  /** A listener could not bind for another reason (an address not on this host, a privileged port). */
  | 'LISTEN_FAILED'
  /** A key or certificate file exists but does not hold what it should (PEM of a private key, a certificate). */
  | 'KEY_INVALID'
  /**
   * The node's MSP identity (identity.mspDir) or TLS certificate (tls.cert) is one the consortium refuses: not issued
   * by the organisation's roots (the MSP folder's, for TLS tls.clientCaBundle's without tlscacerts/), expired or not
   * yet valid, an identity without exactly one NodeOU where config.yaml enables them; or the MSP folder or the bundle
   * does not load (a missing file, a key its rules refuse, intermediate CAs).
   */
  | 'CERTIFICATE_INVALID'
  /** The store's log is not the history the chain anchored for its origin (a backup older than the last anchor). */
  | 'STORE_CONFLICTS_WITH_CHAIN'
  /** The data dir is open to group or others and the node's user cannot make it owner-only. */
  | 'DATA_DIR_NOT_PRIVATE';

export class NodeStartError extends Error {
  override readonly name = 'NodeStartError';
  constructor(
    readonly code: NodeStartErrorCode,
    message: string,
    /**
     * The listener (PORT_IN_USE, LISTEN_FAILED), the file (KEY_INVALID), the MSP folder or TLS certificate
     * (CERTIFICATE_INVALID), the store or the data dir concerned.
     */
    readonly subject: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}
