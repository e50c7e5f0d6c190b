// fabric-contract-api logs every decorator at info and every rejected transaction at error; the tests assert those
// rejections themselves. Imported before the contract so its loggers are created at this level.
process.env.CORE_CHAINCODE_LOGGING_LEVEL = 'CRITICAL';
