/**
 * The retry loops shared by the node's durable outboxes (anchoring, notarization) and its chain-index follower, and
 * a bounded pool.
 */
export { forEachAtOnce } from './at-once.ts';
export { Backoff } from './backoff.ts';
export { OutboxWorker, type OutboxWorkerOptions } from './outbox-worker.ts';
