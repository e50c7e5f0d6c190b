/**
 * An institution node in its own process, started from its YAML config as a deployment starts it, for benchmarks
 * that keep the load generator off the node's event loop (server-process.ts): `node --import tsx node-child.ts
 * <node.yaml>` prints `listening <host:port>` once its gRPC API takes calls and stops gracefully on SIGTERM.
 */
import { loadNodeConfig } from '../node/config/index.ts';
import { createNode } from '../node/node.ts';

const [configFile] = process.argv.slice(2);
if (configFile === undefined) throw new Error('usage: node-child.ts <node.yaml>');

// The node refuses unknown LIANXIN_* overrides; the benchmark's own variables (LIANXIN_BENCH_CPU_PROF) are not its.
const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('LIANXIN_BENCH_')));
const node = await createNode(await loadNodeConfig(configFile, env));
process.once('SIGTERM', () => {
  void node.stop().then(() => process.exit(0));
});
process.stdout.write(`listening ${node.address}\n`);
