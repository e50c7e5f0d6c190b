/**
 * The consortium PKI (DESIGN §3, §8): the consortium YAML, Fabric-compatible crypto material in the MSP folder
 * layout, and loaders for what other parts need from it (signing identities, channel MSP roots, TLS).
 */
export {
  parseConsortium,
  loadConsortium,
  institutionNode,
  ORG_ROLES,
  NODE_TYPES,
  SUITES,
  type Suite,
  type Consortium,
  type Organization,
  type OrgNode,
  type NodePorts,
  type NodeType,
  type OrgRole,
  type NodeOU,
} from './consortium-config.ts';
export {
  issueCertificate,
  subjectKeyId,
  type CertificateAuthority,
  type CertificateProfile,
  type IssueCertificateOptions,
  type IssuedCertificate,
  type SubjectName,
} from './cert-issuer.ts';
export {
  describeGeneration,
  generateCryptoMaterial,
  nodeOUOfUser,
  nodeOUOfNode,
  type GenerateOptions,
  type GenerationReport,
} from './msp-layout.ts';
export {
  loadSigningIdentity,
  loadOrgRootCerts,
  loadMspRootCerts,
  loadNodeOUs,
  loadCertificateBundle,
  loadTlsKeyPair,
  type SigningIdentity,
  type OrgRootCerts,
  type TlsKeyPair,
} from './identity-loader.ts';
export {
  TrustedCas,
  type TrustedCa,
  type CertificateChainCheck,
  type CertificateChainFailure,
} from './certificate-chain.ts';
export { checkMemberCertificate, type MemberCertificateRules } from './member-certificate.ts';
export { subjectOrganization, subjectValues, type NodeOUIdentifiers } from './certificate-subject.ts';
export { orgPaths, type OrgPaths, type IdentityPaths, type MspPaths, type CaPaths } from './msp-paths.ts';
export { FABRIC_ATTRS_OID, ROLE_ATTRIBUTE } from './constants.ts';
export { PkiError, type PkiErrorCode } from './errors.ts';
export { pemKeyBlocks } from './pem-files.ts';
