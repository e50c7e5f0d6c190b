/**
 * This organisation's revoked log keys, as the chain's registry holds them (ListKeys). A verifier refuses a
 * checkpoint signed by a revoked log key in every attestation issued after the revocation (KEY_REVOKED): the
 * attestation builder proves the leaves whose first anchor such a key signed against a newer anchor instead.
 * Read at start, after every key reload (the README's revoke-then-rotate path ends with one) and every `refreshMs`
 * (a key revoked without a reload, such as an old rotated key found compromised later).
 */
import { parseCheckpoint } from '../../chaincode/src/protocol.ts';
import type { LianxinChain } from '../ledger/index.ts';
import type { Logger } from '../logging/index.ts';

export interface RevokedLogKeysOptions {
  readonly chain: Pick<LianxinChain, 'listKeys'>;
  readonly mspId: string;
  readonly logger: Logger;
  readonly refreshMs: number;
}

export class RevokedLogKeys {
  readonly #o: RevokedLogKeysOptions;
  /** Note key IDs (signed-note: the kid's first 4 bytes, hex) of the revoked log keys. */
  #keyIds: ReadonlySet<string> = new Set();
  #changes = 0;
  /** Reads are applied in the order they started: a slow read never replaces what a later one found. */
  #started = 0;
  #applied = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: Readonly<RevokedLogKeysOptions>) {
    this.#o = options;
  }

  /** Bumped whenever the set changes: a decision taken on the set before may be stale. */
  get changes(): number {
    return this.#changes;
  }

  /** Whether the note's signature named for its origin is by a revoked log key of this organisation. */
  signedByRevoked(note: string): boolean {
    if (this.#keyIds.size === 0) return false;
    const keyId = noteKeyId(note);
    return keyId !== undefined && this.#keyIds.has(keyId);
  }

  /**
   * Reads the registry now.
   * @throws ChainError when the chain cannot answer (the set stays as it was).
   */
  async refresh(): Promise<void> {
    const read = ++this.#started;
    const keys = await this.#o.chain.listKeys(this.#o.mspId);
    if (read < this.#applied) return;
    this.#applied = read;
    const revoked = new Set(
      keys.filter((key) => key.role === 'log' && key.status === 'revoked').map((key) => key.kid.slice(0, 8)),
    );
    if (revoked.size === this.#keyIds.size && [...revoked].every((keyId) => this.#keyIds.has(keyId))) return;
    this.#keyIds = revoked;
    this.#changes++;
    this.#o.logger.info({ revoked: [...revoked] }, 'revoked log keys read from the registry');
  }

  /** Reads now and every `refreshMs` until `stop`; a failed read is logged and tried again at the next. */
  start(): void {
    const tick = () => {
      this.refresh().catch((err: unknown) => {
        this.#o.logger.warn({ err }, 'cannot read the revoked log keys from the chain; trying again later');
      });
    };
    tick();
    this.#timer = setInterval(tick, this.#o.refreshMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}

/** The key ID (hex) of the note's signature named for its origin, if it parses and has one. */
export function noteKeyId(note: string): string | undefined {
  const parsed = parseCheckpoint(note);
  if (!parsed.ok) return undefined;
  const { origin, signatures } = parsed.checkpoint;
  const signature = signatures.find((sig) => sig.name === origin);
  return signature && Buffer.from(signature.keyId).toString('hex');
}
