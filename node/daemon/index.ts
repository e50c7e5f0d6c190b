/**
 * The node as a process of its own (`tsx node/daemon/main.ts --config node.yaml`, `lianxin node start`): start-up
 * failures as one line and exit code 1, graceful stop on SIGTERM/SIGINT.
 */
export { runNodeDaemon, EXIT_FAILURE, EXIT_OK, type NodeDaemonOptions } from './run-node-daemon.ts';
export { startupFailureLine } from './startup-failure.ts';
