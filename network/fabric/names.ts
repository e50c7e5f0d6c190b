/**
 * Fabric's naming rules for what the consortium YAML, a node's configuration and the embedded ledger all name — one
 * copy, importing nothing, so that a configuration loader can check a name without loading the ledger. MSP IDs follow
 * the chaincode's rule (chaincode/src protocol's MSP_ID): the chain refuses any other at registration.
 */

/** Fabric's channel ID rule: `common/configtx/validator.go` (channelAllowedChars, maxLength 249). */
export const CHANNEL_ID = /^[a-z][a-z0-9.-]{0,248}$/;

/** Fabric's chaincode name rule (core/chaincode/lifecycle/scc.go ChaincodeNameRegExp): no `$$`, no `/`. */
export const CHAINCODE_NAME = /^[a-zA-Z0-9]+([-_][a-zA-Z0-9]+)*$/;
