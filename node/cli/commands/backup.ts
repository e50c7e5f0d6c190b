/**
 * `lianxin node backup --config node.yaml --out F`: an online backup of the running node, written by the node
 * itself (it holds its store's LevelDB locks) through its admin socket, from one snapshot of each of its LevelDBs.
 */
import { join, resolve } from 'node:path';
import { subcommand, type CommandDefinition } from '../command.ts';
import { CliError } from '../errors.ts';

const DESCRIPTION = `Writes a consistent online backup of the running node to one file: every part of its store (records,
transparency log, checkpoints, the anchoring outbox, the chain index, the report exchange's journal) as of one
snapshot of each of its LevelDBs, taken together, with a manifest (format version, MSP ID and log origin, entry
counts, SHA-256). The node keeps serving meanwhile. The key files are not in it: keep them apart (they change only on rotation). The file is written
by the node's process, on its host; it is never replaced if it exists.`;

export const backupCommand: CommandDefinition = (parent, io) => {
  subcommand(group(parent, 'node'), 'backup', 'write an online backup of the running node', DESCRIPTION)
    .requiredOption('--config <file>', "the node's configuration (node.yaml)")
    .requiredOption('-o, --out <file>', 'the backup file to write')
    .action(async (options: { config: string; out: string }) => {
      const [{ adminSocketPath, requestBackup }, { operatorError, readNodeConfig }] = await Promise.all([
        import('../../admin/index.ts'),
        import('../node-admin.ts'),
      ]);
      const config = await readNodeConfig(options.config, io);
      const out = resolve(options.out);
      try {
        const manifest = await requestBackup(adminSocketPath(config.dataDir), out);
        io.stdout.write(
          `backed up ${manifest.identity.origin ?? config.mspId} to ${out}: ${manifest.entries} entries, ` +
            `sha256 ${manifest.sha256}${manifest.log ? `; log size ${manifest.log.size}` : ''}\n`,
        );
      } catch (err) {
        throw operatorError(err);
      }
    });
};

const LEDGER_DESCRIPTION = `Writes a consistent online backup of the running embedded ledger (npm run ledger) to one file: blocks,
transaction index, world state and savepoint from one LevelDB snapshot, so the ledger at one height, with a manifest
and its SHA-256. Written by the ledger's process through its admin socket (<data-dir>/ledger/admin.sock); the crypto
material is not in it.`;

export const ledgerBackupCommand: CommandDefinition = (parent, io) => {
  subcommand(
    group(parent, 'ledger'),
    'backup',
    'write an online backup of the running embedded ledger',
    LEDGER_DESCRIPTION,
  )
    .option('--data-dir <dir>', "the ledger's data dir, as npm run ledger got it", '.data')
    .requiredOption('-o, --out <file>', 'the backup file to write')
    .action(async (options: { dataDir: string; out: string }) => {
      const [{ requestBackup }, { operatorError }] = await Promise.all([
        import('../../admin/index.ts'),
        import('../node-admin.ts'),
      ]);
      const out = resolve(options.out);
      try {
        const manifest = await requestBackup(join(options.dataDir, 'ledger', 'admin.sock'), out);
        io.stdout.write(
          `backed up the ledger of channel ${manifest.identity.channel ?? '?'} to ${out}: ` +
            `${manifest.entries} entries, sha256 ${manifest.sha256}\n`,
        );
      } catch (err) {
        throw operatorError(err);
      }
    });
};

/** `lianxin node` (node-start.ts) and `lianxin ledger` (ledger-info.ts); the backup commands join them. */
export function group(parent: Parameters<CommandDefinition>[0], name: 'node' | 'ledger') {
  const found = parent.commands.find((c) => c.name() === name);
  if (found === undefined) throw new CliError('CONFIGURATION', `the ${name} command group is not defined`);
  return found;
}
