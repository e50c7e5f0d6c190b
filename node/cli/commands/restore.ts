/**
 * `lianxin node restore --from F --data-dir D`: a new node data dir from a backup, its digest checked first. The
 * node started on it resumes where the backup was taken, and takes anchors the chain got since from the chain.
 */
import { subcommand, type CommandDefinition } from '../command.ts';
import { group } from './backup.ts';

const DESCRIPTION = `Restores a node's store from a backup (lianxin node backup) into a new data dir, which must be absent or
empty. The archive is checked whole (format, manifest, SHA-256) before anything is written. With --config, the
backup must be of that node (its MSP ID and log origin). The store is written as <data-dir>/db.restoring and renamed
to db once complete: if the restore is interrupted, remove the data dir and run it again. Start the node with
dataDir pointing there: it resumes from the backup's state; anything ingested after the backup was taken is not in it.`;

export const restoreCommand: CommandDefinition = (parent, io) => {
  subcommand(group(parent, 'node'), 'restore', 'restore a node data dir from a backup', DESCRIPTION)
    .requiredOption('--from <file>', 'the backup file')
    .requiredOption('--data-dir <dir>', 'the new data dir (absent or empty)')
    .option('--config <file>', "the node's configuration: the backup must be this node's")
    .action(async (options: { from: string; dataDir: string; config?: string }) => {
      const [{ restoreNode }, { operatorError, readNodeConfig }] = await Promise.all([
        import('../../backup/index.ts'),
        import('../node-admin.ts'),
      ]);
      const config = options.config === undefined ? undefined : await readNodeConfig(options.config, io);
      try {
        const manifest = await restoreNode({
          from: options.from,
          dataDir: options.dataDir,
          ...(config ? { expect: { mspId: config.mspId, origin: `lianxin/${config.mspId}/${config.shard}` } } : {}),
        });
        io.stdout.write(
          `restored ${manifest.entries} entries of ${manifest.identity.origin ?? '?'} (backup of ${manifest.createdAt}) ` +
            `into ${options.dataDir}\n`,
        );
      } catch (err) {
        throw operatorError(err);
      }
    });
};

const LEDGER_DESCRIPTION = `Restores the embedded ledger's store from a backup (lianxin ledger backup) into <data-dir>/ledger/ledger,
where npm run ledger and verify-chain find it; <data-dir>/ledger must be absent or empty. The archive is checked
whole first; the store is written as ledger/ledger.restoring and renamed once complete (if the restore is
interrupted, empty <data-dir>/ledger and run it again). Put the consortium's crypto material in <data-dir>/crypto (it is not in the backup), run
npm run verify-chain -- --data-dir <data-dir>, then start the ledger: it resumes at the backup's height.`;

export const ledgerRestoreCommand: CommandDefinition = (parent, io) => {
  subcommand(
    group(parent, 'ledger'),
    'restore',
    "restore the embedded ledger's store from a backup",
    LEDGER_DESCRIPTION,
  )
    .requiredOption('--from <file>', 'the backup file')
    .requiredOption('--data-dir <dir>', 'the data dir to restore into (its ledger/ absent or empty)')
    .action(async (options: { from: string; dataDir: string }) => {
      const [{ restoreLedger }, { operatorError }] = await Promise.all([
        import('../../backup/index.ts'),
        import('../node-admin.ts'),
      ]);
      try {
        const manifest = await restoreLedger({ from: options.from, dataDir: options.dataDir });
        io.stdout.write(
          `restored the ledger of channel ${manifest.identity.channel ?? '?'} (backup of ${manifest.createdAt}, ` +
            `${manifest.entries} entries) into ${options.dataDir}\n`,
        );
      } catch (err) {
        throw operatorError(err);
      }
    });
};
