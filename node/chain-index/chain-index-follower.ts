/**
 * Keeps the node's ChainIndex up with the chain: follows the chaincode's `Anchored` events from the last applied
 * anchor, reads each anchor's index chunks (GetIndexChunk) and applies them. A broken event stream or an
 * unavailable ledger is retried with capped exponential backoff; the stored position makes every resume exact.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { chunkCount } from '../../chaincode/src/protocol.ts';
import type { AnchoredEvent, LianxinChain } from '../ledger/index.ts';
import type { Logger } from '../logging/index.ts';
import type { ChainIndex } from './chain-index.ts';

export interface ChainIndexFollowerOptions {
  readonly index: ChainIndex;
  readonly chain: Pick<LianxinChain, 'anchoredEvents' | 'getIndexChunk'>;
  readonly logger: Logger;
  readonly retryInitialMs: number;
  readonly retryMaxMs: number;
  /** Called after each applied anchor. */
  readonly onApplied?: (anchor: AnchoredEvent) => void;
}

export class ChainIndexFollower {
  readonly #o: ChainIndexFollowerOptions;
  readonly #stopping = new AbortController();
  #running: Promise<void> | undefined;
  #close: (() => void) | undefined;

  constructor(options: Readonly<ChainIndexFollowerOptions>) {
    this.#o = options;
  }

  start(): void {
    this.#running ??= this.#run();
  }

  async stop(): Promise<void> {
    this.#stopping.abort();
    this.#close?.();
    await this.#running;
  }

  /** A method, not a property read: TypeScript would narrow `signal.aborted` to false across the awaits. */
  #stopped(): boolean {
    return this.#stopping.signal.aborted;
  }

  async #run(): Promise<void> {
    const signal = this.#stopping.signal;
    let delay = this.#o.retryInitialMs;
    while (!this.#stopped()) {
      try {
        const events = await this.#o.chain.anchoredEvents(this.#o.index.position);
        this.#close = () => {
          events.close();
        };
        if (this.#stopped()) events.close();
        for await (const anchor of events) {
          if (this.#stopped()) break;
          await this.#apply(anchor);
          delay = this.#o.retryInitialMs;
        }
      } catch (err) {
        if (this.#stopped()) break;
        this.#o.logger.warn({ err, retryInMs: delay }, 'following the chain index failed; retrying');
      }
      // The stream only ends by itself when the ledger goes away: resume after a pause either way.
      await sleep(delay * (0.5 + Math.random() / 2), undefined, { signal }).catch(() => undefined);
      delay = Math.min(delay * 2, this.#o.retryMaxMs);
    }
  }

  async #apply(anchor: AnchoredEvent): Promise<void> {
    const chunks = await Promise.all(
      Array.from({ length: chunkCount(anchor.indexCount) }, (_, i) =>
        this.#o.chain.getIndexChunk(anchor.origin, anchor.size, i),
      ),
    );
    await this.#o.index.apply(
      anchor,
      chunks[0]?.anchoredAt ?? '',
      chunks.flatMap((chunk) => chunk.entries),
    );
    this.#o.onApplied?.(anchor);
  }
}
