/**
 * The node's executable entry: `tsx node/daemon/main.ts --config path/to/node.yaml` (`npm run node:start --
 * --config …`). Logs go to stdout, one JSON object per line; a start-up failure is one line on stderr and exit
 * code 1; SIGTERM or SIGINT stops the node gracefully and exits 0.
 */
import { parseArgs } from 'node:util';
import { runNodeDaemon } from './index.ts';

const USAGE = 'usage: tsx node/daemon/main.ts --config <node.yaml>';
/** A command line that cannot be understood, as distinct from a node that cannot start (1). */
const EXIT_USAGE = 2;

/** The config file named on the command line, or the problem with the command line. */
function configPath(argv: string[]): { file: string } | { problem: string } {
  try {
    const { values } = parseArgs({
      args: argv,
      options: { config: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: false,
    });
    if (values.help === true) {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    }
    return values.config === undefined ? { problem: '--config is required' } : { file: values.config };
  } catch (err) {
    return { problem: (err as Error).message };
  }
}

const parsed = configPath(process.argv.slice(2));
if ('problem' in parsed) {
  process.stderr.write(`lianxin node: ${parsed.problem}; ${USAGE}\n`);
  process.exit(EXIT_USAGE);
}
process.exit(await runNodeDaemon({ configPath: parsed.file }));
