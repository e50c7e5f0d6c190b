/**
 * The node's own log signing against its organisation's revoked log keys, looked at when the set changes, the keys
 * reload and at start. A latest checkpoint signed by a revoked key vouches for nothing in a new attestation, and the
 * chaincode anchors no second checkpoint at a size it holds (decision 15): signed again (same size, same root) by
 * the current key, its leaves are CHECKPOINTED at once, not once the log grows. A current key that is itself revoked
 * (restarted with the old keys.log, or between keys revoke --force and keys rotate) signs nothing any verifier or the
 * chaincode takes: an error the operator sees (a log line naming the command, the `log-key` health component), not
 * an anchoring stall behind "retry shortly".
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
  /** The revoked signing key last logged, so that each is logged once. */
  #reported: string | undefined;
  /** The review under way, which a review asked for meanwhile joins (and has run once more after it). */
  #running: Promise<void> | undefined;
  /** Reviews asked for: one asked while a review ran makes it run once more. */
  #asked = 0;

  constructor(options: Readonly<RevokedSigningOptions>) {
    this.#o = options;
  }

  /** Why the node's log signing is refused by every verifier now, if it is: its own log key is revoked. */
  get refusal(): string | undefined {
    const { kid } = this.#o.signer;
    if (!this.#o.revoked.isRevoked(kid)) return undefined;
    return (
      `the node signs its log with key ${kid}, revoked: no checkpoint it signs is anchored or verifies; run ` +
      '`lianxin keys rotate --kind log` to register a fresh key and switch to it'
    );
  }

  /**
   * Logs a revoked signing key (once per key), else signs the latest checkpoint again if a revoked key signed it. A
   * review asked for while one runs joins it, and one more runs after it: a key reload both changes the revoked set
   * (which asks for a review) and asks for one itself, and two at once would each sign the same size again.
   * @throws the log's error when the checkpoint cannot be stored.
   */
  review(): Promise<void> {
    this.#asked++;
    if (this.#running !== undefined) return this.#running;
    const running = (async () => {
      try {
        let seen: number;
        do {
          seen = this.#asked;
          await this.#reviewOnce();
        } while (this.#asked !== seen);
      } finally {
        this.#running = undefined;
      }
    })();
    this.#running = running;
    return running;
  }

  async #reviewOnce(): Promise<void> {
    const refusal = this.refusal;
    if (refusal !== undefined) {
      if (this.#reported !== this.#o.signer.kid) this.#o.logger.error({ kid: this.#o.signer.kid }, refusal);
      this.#reported = this.#o.signer.kid;
      return;
    }
    this.#reported = undefined;
    const latest = this.#o.log.latestCheckpoint();
    if (latest === undefined || !this.#o.revoked.signedByRevoked(latest.note)) return;
    await this.#o.log.signLatestAgain();
    this.#o.logger.info(
      { size: latest.size, kid: this.#o.signer.kid },
      'the latest checkpoint was signed by a revoked log key: signed again with the current key',
    );
  }
}
