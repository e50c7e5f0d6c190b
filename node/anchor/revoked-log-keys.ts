/**
 * This organisation's revoked log keys, as the chain's registry holds them (ListKeys). A verifier refuses a
 * checkpoint signed by a revoked log key in every attestation issued after the revocation (KEY_REVOKED): the
 * attestation builder proves the leaves whose first anchor such a key signed against a newer anchor instead.
 * Read at start, after every key reload (the README's revoke-then-rotate path ends with one, and `keys revoke` asks
 * for one) and every `refreshMs` (a key revoked by another path). Stored in the anchor sublevel whenever it changes
 * and loaded at open: a node restarted while the chain does not answer still proves nothing against a revoked key.
 */
import { parseCheckpoint } from '../../chaincode/src/protocol.ts';
import type { LianxinChain } from '../ledger/index.ts';
import type { Logger } from '../logging/index.ts';
import type { NodeSublevel, SublevelWrite } from '../store/index.ts';
import { REVOKED_LOG_KEYS } from './anchor-keys.ts';

export interface RevokedLogKeysOptions {
  /** The anchor sublevel, where the set is kept (anchor-keys.ts `k`). */
  readonly db: NodeSublevel;
  readonly write: (writes: readonly SublevelWrite[]) => Promise<void>;
  readonly chain: Pick<LianxinChain, 'listKeys'>;
  readonly mspId: string;
  readonly logger: Logger;
  readonly refreshMs: number;
  /** Told after the set changed (and was stored). */
  readonly onChange?: () => void;
}

export class RevokedLogKeys {
  readonly #o: RevokedLogKeysOptions;
  /** Note key IDs (signed-note: the kid's first 4 bytes, hex) of the revoked log keys. */
  #keyIds: ReadonlySet<string>;
  #changes = 0;
  /** The set's writes, one after another: the last one written is the last one found. */
  #saving: Promise<void> = Promise.resolve();
  /** Reads are applied in the order they started: a slow read never replaces what a later one found. */
  #started = 0;
  #applied = 0;
  #timer: NodeJS.Timeout | undefined;
  /** The latest periodic read, which `stop` waits for: its write must land before the store closes. */
  #reading: Promise<void> = Promise.resolve();

  private constructor(options: Readonly<RevokedLogKeysOptions>, stored: ReadonlySet<string>) {
    this.#o = options;
    this.#keyIds = stored;
  }

  /** The set as last stored (empty before the first read). */
  static async open(options: Readonly<RevokedLogKeysOptions>): Promise<RevokedLogKeys> {
    const stored = await options.db.get(REVOKED_LOG_KEYS);
    return new RevokedLogKeys(options, new Set(stored ? (JSON.parse(stored.toString('utf8')) as string[]) : []));
  }

  /** Bumped whenever the set changes: a decision taken on the set before may be stale. */
  get changes(): number {
    return this.#changes;
  }

  /** Whether the log key `kid` (64 hex digits) of this organisation is revoked. */
  isRevoked(kid: string): boolean {
    return this.#keyIds.has(kid.slice(0, 8));
  }

  /** Whether the note's signature named for its origin is by a revoked log key of this organisation. */
  signedByRevoked(note: string): boolean {
    if (this.#keyIds.size === 0) return false;
    const keyId = noteKeyId(note);
    return keyId !== undefined && this.#keyIds.has(keyId);
  }

  /**
   * Reads the registry now, and stores the set if it changed.
   * @throws ChainError when the chain cannot answer (the set stays as it was); the store's error when it cannot
   *   keep the set (in memory it changed: a restart reads the one stored before).
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
    await this.#save();
    this.#o.onChange?.();
  }

  #save(): Promise<void> {
    const save = () => {
      const value = Buffer.from(JSON.stringify([...this.#keyIds]));
      return this.#o.write([{ type: 'put', sublevel: this.#o.db, key: REVOKED_LOG_KEYS, value }]);
    };
    const saved = this.#saving.then(save);
    this.#saving = saved.catch(() => undefined);
    return saved;
  }

  /** Reads now and every `refreshMs` until `stop`; a failed read is logged and tried again at the next. */
  start(): void {
    const tick = () => {
      this.#reading = this.refresh().catch((err: unknown) => {
        this.#o.logger.warn(
          { err },
          'cannot read the revoked log keys from the chain or store them; trying again later',
        );
      });
    };
    tick();
    this.#timer = setInterval(tick, this.#o.refreshMs);
    this.#timer.unref();
  }

  /** Stops the periodic reads and waits for one in flight. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#reading;
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
