/**
 * An institution node in its own process for crash tests: `node --import tsx node-child.ts <node.yaml>` loads the
 * config like a deployment (LIANXIN_* overrides included), starts the node, prints `listening <host:port>` and
 * stops gracefully on SIGTERM. Logs go to stderr, so that stdout carries only the address.
 */
import { existsSync } from 'node:fs';
import { loadNodeConfig } from '../../node/config/index.ts';
import { createNode } from '../../node/node.ts';

const [configFile, option, flagFile] = process.argv.slice(2);
if (configFile === undefined || (option !== undefined && (option !== '--enospc-while' || flagFile === undefined))) {
  throw new Error('usage: node-child.ts <node.yaml> [--enospc-while <file>]');
}

/**
 * With `--enospc-while <file>` (storage-fault tests where no small file system can be mounted): while the file
 * exists, the store's writes fail as LevelDB fails them on a full disk.
 */
const injectWriteFault =
  flagFile === undefined
    ? undefined
    : () =>
        existsSync(flagFile)
          ? Object.assign(new Error('IO error: (injected) No space left on device'), { code: 'LEVEL_IO_ERROR' })
          : undefined;

const node = await createNode(await loadNodeConfig(configFile, process.env), {
  logDestination: process.stderr,
  ...(injectWriteFault && { injectWriteFault }),
});
process.once('SIGTERM', () => {
  void node.stop().then(() => process.exit(0));
});
process.stdout.write(`listening ${node.address}\n`);
