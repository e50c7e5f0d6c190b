export {
  Endorser,
  toPeerResponse,
  type EndorserComponents,
  type Endorsement,
  type SystemChaincode,
} from './endorser.ts';
export { unpackProposal, computeTxId, type UnpackedProposal } from './proposal.ts';
