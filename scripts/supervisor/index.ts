/** Child processes kept serving: npm start's ledger and institution nodes. */
export { ChildRun, endedLine, type ChildCommand, type ExitStatus } from './child-run.ts';
export { lastWords } from './last-words.ts';
export { SupervisorError, type SupervisorErrorCode } from './errors.ts';
export { parseNodeServingLine, waitForHealthz, type Health, type OperationsClientTls } from './readiness.ts';
export { Supervisor, type ChildSpec, type RestartBackoff, type SupervisorOptions } from './supervisor.ts';
