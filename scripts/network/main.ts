/**
 * `npm run network -- <up|status|down|add-org|batch|uscc-mode> [--config F] [--data-dir D]`: the process edge of the network
 * command (cli.ts does the work).
 */
import { runNetwork } from './cli.ts';

process.exitCode = await runNetwork(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
});
