/** Test support: a chaincode-event stream a test pushes events into, or breaks with an error. */
import type { ChaincodeEventSubscription } from './chaincode-event-hub.ts';

/** An event stream the test pushes into, or breaks; `passedBlock` is the test's to set (a subscription's). */
export class FakeEventStream<T> implements ChaincodeEventSubscription<T> {
  readonly #queue: (T | Error)[] = [];
  #wake: (() => void) | undefined;
  closed = false;
  passedBlock: bigint | undefined;

  push(item: T | Error): void {
    this.#queue.push(item);
    this.#wake?.();
  }

  close(): void {
    this.closed = true;
    this.#wake?.();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    while (!this.closed) {
      const next = this.#queue.shift();
      if (next instanceof Error) throw next;
      if (next !== undefined) yield next;
      else
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
        });
    }
  }
}
