/**
 * KMIP operations that change nothing on the server. The module may resend them to another
 * server after a transport failure; the server need not hold their answer until their audit
 * record is on disk.
 */
export const READ_ONLY_OPERATIONS: ReadonlySet<string> = new Set([
  'Get', 'Export', 'Locate', 'GetAttributes', 'GetAttributeList', 'Encrypt', 'Decrypt', 'Sign',
  'SignatureVerify', 'MAC', 'MACVerify', 'Hash', 'RNGRetrieve', 'Query', 'DiscoverVersions', 'Validate', 'Check', 'RNGSeed',
]);
