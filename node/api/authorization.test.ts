import { describe, expect, it } from 'vitest';
import { ORG_ROLES, type OrgRole } from '../../network/pki/index.ts';
import { DEFAULT_POLICY, authorize, type Caller, type RpcName } from './index.ts';

const LOCAL = 'HangzhouCreditMSP';
const RPCS = Object.keys(DEFAULT_POLICY) as RpcName[];
const WRITES: RpcName[] = ['RecordService.IngestRecords', 'RecordService.IngestBatch', 'NotaryService.Notarize'];
/** Calls the node makes as its own institution (it signs the exchange's request): never for another. */
/** Own-node only: an exchange signed as the institution, and the proofs of its own exchanges. */
const ON_BEHALF: RpcName[] = ['ReportService.RequestReport', 'ReportService.ProveAccess'];

function caller(role: OrgRole, mspId: string): Caller {
  return { mspId, role, commonName: 'User1', fingerprint: 'AA' };
}

/** Whether `authorize` lets the caller through. */
function allowed(rpc: RpcName, role: OrgRole, mspId: string): boolean {
  try {
    authorize(DEFAULT_POLICY, rpc, caller(role, mspId), LOCAL);
    return true;
  } catch (err) {
    expect(err).toMatchObject({ code: 'PERMISSION_DENIED' });
    return false;
  }
}

describe('DEFAULT_POLICY', () => {
  it('lets nobody write for another organisation', () => {
    for (const rpc of [...WRITES, ...ON_BEHALF]) {
      for (const role of ORG_ROLES) expect(allowed(rpc, role, 'OtherMSP'), `${role} ${rpc}`).toBe(false);
    }
  });

  it('lets an agency ingest on its own node only, and no other role ingest', () => {
    expect(allowed('RecordService.IngestBatch', 'agency', LOCAL)).toBe(true);
    expect(allowed('RecordService.IngestRecords', 'agency', LOCAL)).toBe(true);
    for (const role of ORG_ROLES.filter((r) => r !== 'agency')) {
      expect(allowed('RecordService.IngestBatch', role, LOCAL)).toBe(false);
    }
  });

  it('lets a platform notarize for itself', () => {
    expect(allowed('NotaryService.Notarize', 'platform', LOCAL)).toBe(true);
    expect(allowed('NotaryService.Notarize', 'bank', LOCAL)).toBe(false);
  });

  it('lets a bank of any organisation query attestations, not record statuses', () => {
    expect(allowed('AttestationService.Attest', 'bank', 'ShanghaiBankMSP')).toBe(true);
    expect(allowed('AttestationService.AttestStream', 'bank', 'ShanghaiBankMSP')).toBe(true);
    expect(allowed('RecordService.GetRecordStatus', 'bank', 'ShanghaiBankMSP')).toBe(false);
  });

  it('lets the regulator read everything and write nothing', () => {
    const reads = RPCS.filter((rpc) => !WRITES.includes(rpc) && !ON_BEHALF.includes(rpc));
    for (const rpc of RPCS) expect(allowed(rpc, 'regulator', 'RegulatorMSP'), rpc).toBe(reads.includes(rpc));
  });

  it('lets a bank and the regulator request reports through their own node only, no other role', () => {
    expect(allowed('ReportService.RequestReport', 'bank', LOCAL)).toBe(true);
    expect(allowed('ReportService.RequestReport', 'regulator', LOCAL)).toBe(true);
    for (const role of ORG_ROLES.filter((r) => r !== 'bank' && r !== 'regulator')) {
      expect(allowed('ReportService.RequestReport', role, LOCAL), role).toBe(false);
    }
  });

  it('lets the two sides of exchanges, and only them, get the proof of their own exchanges from their own node', () => {
    for (const role of ORG_ROLES) {
      const party = role === 'bank' || role === 'regulator' || role === 'agency';
      expect(allowed('ReportService.ProveAccess', role, LOCAL), role).toBe(party);
    }
  });

  it('lets every member read the log and the node info', () => {
    for (const rpc of RPCS.filter((r) => r.startsWith('LogService.') || r.startsWith('NodeInfoService.'))) {
      for (const role of ORG_ROLES) expect(allowed(rpc, role, 'AnyMSP'), `${role} ${rpc}`).toBe(true);
    }
  });

  it('names the role, the organisation and the method when it refuses', () => {
    expect(() => {
      authorize(DEFAULT_POLICY, 'NotaryService.Notarize', caller('bank', 'ShanghaiBankMSP'), LOCAL);
    }).toThrow('role "bank" (ShanghaiBankMSP) may not call NotaryService.Notarize; allowed roles: platform');
  });
});
