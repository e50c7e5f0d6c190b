/**
 * The node's own log signing against its organisation's revoked log keys, looked at when the set changes, the keys
 * reload and at start. A latest checkpoint signed by a revoked key vouches for nothing in a new attestation, and the
 * chaincode anchors no second checkpoint at a size it holds (decision 15): signed again (same size, same root) by
 * the current key, its leaves are CHECKPOINTED at once, not once the log grows.
 */
import type { LogSigner, TransparencyLog } from '../log/index.ts';
import type { Logger } from '../logging/index.ts';
import type { RevokedLogKeys } from './revoked-log-keys.ts';

export interface RevokedSigningOptions {
  readonly log: Pick<TransparencyLog, 'latestCheckpoint' | 'signLatestAgain'>;
  readonly revoked: Pick<RevokedLogKeys, 'isRevoked' | 'signedByRevoked'>;
  /** The key the node signs with now (LiveNodeKeys.logSigner follows reloads). */
  readonly signer: Pick<LogSigner, 'kid'>;
  readonly logger: Logger;
}

export class RevokedSigning {
  readonly #o: RevokedSigningOptions;

  constructor(options: Readonly<RevokedSigningOptions>) {
    this.#o = options;
  }

  /**
   * Signs the latest checkpoint again if a revoked key signed it and the current key is not revoked.
   * @throws the log's error when the checkpoint cannot be stored.
   */
  async review(): Promise<void> {
    if (this.#o.revoked.isRevoked(this.#o.signer.kid)) return;
    const latest = this.#o.log.latestCheckpoint();
    if (latest === undefined || !this.#o.revoked.signedByRevoked(latest.note)) return;
    await this.#o.log.signLatestAgain();
    this.#o.logger.info(
      { size: latest.size, kid: this.#o.signer.kid },
      'the latest checkpoint was signed by a revoked log key: signed again with the current key',
    );
  }
}
