/** `npm run lianxin -- <command>`: the process edge of the CLI (cli.ts does the work). */
import { runCli } from './cli.ts';

process.exitCode = await runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
});
