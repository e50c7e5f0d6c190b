/**
 * A node admits records and notarizations in a USCC mode of its own, without asking the chain for each batch
 * (ingest goes on while the ledger is down). Looser than the registry's mode, it would admit codes the consortium
 * refuses (a pilot-region code with a wrong check character in a strict registry); stricter, it only refuses codes
 * the consortium takes, which endangers nothing. So a node admits in the stricter of its `ingest.usccMode` and the
 * registry's mode, and warns when they differ: SetUsccMode never stops a node from starting. The registry's mode is
 * read at start and again at every registry change (`RegistryChanged` on the node's one shared event stream), so
 * `npm run network -- uscc-mode` takes effect on running nodes without a restart. What a node logged is anchored
 * either way (AnchorCheckpoint checks subjects by shape only).
 */
import type { UsccMode } from '../../chaincode/src/protocol.ts';
import { ChainError, type LianxinChain } from '../ledger/index.ts';
import type { Logger } from '../logging/index.ts';
import { RegistryFollower, type RegistryFollowerInit } from '../p2p/index.ts';

/** What admits by the current mode reads `usccMode` at each batch or call. */
export interface AdmissionMode {
  readonly usccMode: UsccMode;
}

export class UsccAdmission implements AdmissionMode {
  readonly #chain: Pick<LianxinChain, 'getSettings'>;
  readonly #configured: UsccMode;
  readonly #logger: Logger;
  readonly #follower: RegistryFollower;
  /** The registry's mode as last read; undefined before a read answered or while the registry is empty. */
  #registry: UsccMode | undefined;

  constructor(
    chain: Pick<LianxinChain, 'getSettings' | 'chainInfo' | 'registryChanges'>,
    configured: UsccMode,
    logger: Logger,
    init: Readonly<RegistryFollowerInit> = {},
  ) {
    this.#chain = chain;
    this.#configured = configured;
    this.#logger = logger;
    // Read at every registry change (they are rare). A failed read throws: the follower takes it as a broken stream
    // and reopens after a pause, reading again, so a change it was told of is not lost to one failed read.
    this.#follower = new RegistryFollower(
      {
        chain,
        refresh: () => this.#read(),
        onError: (err) => {
          logger.warn({ err, usccMode: this.usccMode }, "following the registry's USCC mode: reading it again shortly");
        },
      },
      init,
    );
  }

  /** `ingest.usccMode`, or strict when the registry's is strict. */
  get usccMode(): UsccMode {
    return this.#registry === 'strict' ? 'strict' : this.#configured;
  }

  /**
   * Reads the registry's mode at start. An unreachable ledger keeps the mode as it was (logged): the follower reads
   * again once its stream opens.
   */
  async refresh(): Promise<void> {
    try {
      await this.#read();
    } catch (err) {
      if (!(err instanceof ChainError)) throw err;
      this.#logger.warn({ err, usccMode: this.usccMode }, "cannot read the registry's USCC mode now");
    }
  }

  /**
   * Reads never overlap: the start-up read is awaited before the follower starts, which awaits each of its own.
   * @throws ChainError when the chain cannot answer.
   */
  async #read(): Promise<void> {
    const registry = (await this.#chain.getSettings())?.usccMode;
    const before = this.usccMode;
    const changed = registry !== this.#registry;
    this.#registry = registry;
    if (!changed) return;
    const fields = { usccMode: this.#configured, registryUsccMode: registry, admitting: this.usccMode };
    if (registry === undefined || registry === this.#configured) {
      if (before !== this.usccMode)
        this.#logger.info(fields, `admitting in ${this.usccMode}, as the registry now says`);
      return;
    }
    // The two differ, so one of them is strict.
    this.#logger.warn(
      fields,
      `ingest.usccMode is ${this.#configured} but the consortium registry's USCC mode is ${registry}: admitting in ` +
        `strict; set ingest.usccMode to ${registry} (LIANXIN_INGEST_USCC_MODE) to follow the registry`,
    );
  }

  /** Follows the registry's changes until stopped. */
  start(): void {
    this.#follower.start();
  }

  stop(): Promise<void> {
    return this.#follower.stop();
  }
}
