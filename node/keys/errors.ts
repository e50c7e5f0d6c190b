export type KeyRotationErrorCode =
  /** A key file is missing, unreadable, or holds no key of the expected kind (the message names the file). */
  | 'KEY_INVALID'
  /** The key to rotate is not in the chain's registry for this organisation, or not active there. */
  | 'KEY_NOT_REGISTERED'
  /** The node whose p2p key is rotated is not registered on chain under this log origin. */
  | 'NODE_NOT_REGISTERED'
  /**
   * The registry holds the key or node in a state the rotation cannot go on from: the pending key registered revoked
   * or for another role, the key file's key already rotated to a successor still valid, the node registered under
   * another peer ID (the message says what to do).
   */
  | 'REGISTRY_CONFLICT'
  /** A key file could not be written or moved into place. */
  | 'FILE_ERROR'
  /** The new key is registered and installed, but the running node did not reload it. */
  | 'NODE_NOT_SWITCHED';

/** Generating, registering or installing a rotated key failed; one line naming the key or file. */
export class KeyRotationError extends Error {
  override readonly name = 'KeyRotationError';
  constructor(
    readonly code: KeyRotationErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}
