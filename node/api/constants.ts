import type { RpcName } from './handlers.ts';

/** How long a graceful shutdown lets calls in flight finish before cutting them off. */
export const DEFAULT_SHUTDOWN_GRACE_MS = 10_000;
/** After the grace period, how long the statuses of the calls it ended have to reach their clients. */
export const CUT_OFF_FLUSH_MS = 1_000;

/**
 * Largest request of every method but RecordService.IngestRecords / IngestBatch. The largest of them, a
 * NotarizeRequest, holds at most 32 parties with their signature digests and a few labels: a few KiB.
 */
export const SMALL_REQUEST_MAX_BYTES = 64 * 1024;

/** Largest health check request: one service name (grpc.health.v1.HealthCheckRequest). */
export const HEALTH_REQUEST_MAX_BYTES = 1024;

/** The methods whose requests carry bulk data and get the server-wide receive limit. */
export const BULK_REQUEST_RPCS: readonly RpcName[] = ['RecordService.IngestRecords', 'RecordService.IngestBatch'];

/**
 * HTTP/2 streams one connection may have open at once (SETTINGS_MAX_CONCURRENT_STREAMS); a client's further
 * calls wait for a free stream. Each open stream may hold one request up to the receive limit, so this bounds
 * what one connection can make the node buffer. The node's own clients keep at most 8 calls in flight.
 */
export const DEFAULT_MAX_CONCURRENT_STREAMS = 32;
