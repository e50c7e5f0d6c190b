/**
 * Who may call what (DESIGN §1, §6): a policy per RPC, checked before any handler runs. A grant names a role
 * and whether the caller must be this node's own organisation: writes are always `own` — nobody writes for
 * another organisation — while reads may come from any member with the role.
 */
import type { OrgRole } from '../../network/pki/index.ts';
import type { Caller } from './caller.ts';
import { NodeError } from './errors.ts';
import type { RpcName } from './handlers.ts';

export interface Grant {
  readonly role: OrgRole;
  /** `own`: only callers of the node's own organisation. */
  readonly org: 'own' | 'any';
}

export type AuthorizationPolicy = Readonly<Record<RpcName, readonly Grant[]>>;

const own = (role: OrgRole): Grant => ({ role, org: 'own' });
const any = (role: OrgRole): Grant => ({ role, org: 'any' });
const EVERY_MEMBER: readonly Grant[] = (['agency', 'bank', 'platform', 'regulator', 'operator'] as const).map(any);

/**
 * The consortium's policy. Agencies load their own records; banks attest any record (the regulator reads
 * everything); platforms notarize for themselves and anyone holding a document digest's role may check it; the
 * log and node info are public to members (auditors, other nodes, the operator's monitoring); banks and the
 * regulator request reports from other institutions through their own node.
 */
export const DEFAULT_POLICY: AuthorizationPolicy = {
  'RecordService.IngestRecords': [own('agency')],
  'RecordService.IngestBatch': [own('agency')],
  'RecordService.GetRecordStatus': [own('agency'), any('regulator')],
  'AttestationService.Attest': [any('bank'), any('regulator'), own('agency')],
  'AttestationService.AttestStream': [any('bank'), any('regulator'), own('agency')],
  'NotaryService.Notarize': [own('platform')],
  'NotaryService.GetNotarization': [any('platform'), any('bank'), any('regulator')],
  'LogService.GetCheckpoint': EVERY_MEMBER,
  'LogService.GetInclusionProof': EVERY_MEMBER,
  'LogService.GetConsistencyProof': EVERY_MEMBER,
  'NodeInfoService.GetNodeInfo': EVERY_MEMBER,
  // On the requesting institution's own node: the exchange signs as that institution, under its consents.
  'ReportService.RequestReport': [own('bank'), own('regulator')],
  // The proof of an exchange this institution took part in, as requester or as provider.
  'ReportService.ProveAccess': [own('bank'), own('regulator'), own('agency')],
};

/**
 * @throws NodeError `PERMISSION_DENIED` naming the caller's role and the method when no grant matches.
 */
export function authorize(policy: AuthorizationPolicy, rpc: RpcName, caller: Caller, localMspId: string): void {
  const grants = policy[rpc];
  const byRole = grants.filter((g) => g.role === caller.role);
  if (byRole.length === 0) {
    const allowed = [...new Set(grants.map((g) => g.role))].join(', ');
    throw new NodeError(
      'PERMISSION_DENIED',
      `role "${caller.role}" (${caller.mspId}) may not call ${rpc}; allowed roles: ${allowed}`,
    );
  }
  if (caller.mspId !== localMspId && byRole.every((g) => g.org === 'own')) {
    throw new NodeError(
      'PERMISSION_DENIED',
      `role "${caller.role}" (${caller.mspId}) may call ${rpc} only on its own organisation's node, not ${localMspId}'s`,
    );
  }
}
