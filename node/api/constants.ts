/** How long a graceful shutdown lets calls in flight finish before cutting them off. */
export const DEFAULT_SHUTDOWN_GRACE_MS = 10_000;
