/**
 * The regulator's audit of report accesses (DESIGN §7 step 5): accesses listed from the chain, bundles fetched
 * from the institutions' nodes over `/lianxin/audit/1.0.0`, each verified and given a verdict with a stable code.
 */
export {
  auditAccesses,
  checkAuditQuery,
  type AccessAuditComponents,
  type AuditedAccess,
  type AuditFinding,
  type AuditQuery,
  type AuditVerdictCode,
} from './access-audit.ts';
export { runRegulatorAudit } from './regulator-audit.ts';
export { AuditError, type AuditErrorCode } from './errors.ts';
