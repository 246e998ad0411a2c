/**
 * `p11kms` exit codes. Scripts branch on these, so they never change meaning.
 *
 * - 0 OK: the command did what was asked (a locate that finds nothing is still OK).
 * - 1 NEGATIVE: the answer is "no": a signature did not verify, or the object named does
 *   not exist (Item_Not_Found / Object_Not_Found), so `p11kms get UID` can test existence.
 *   A crypto operation's "no valid key" (a missing key, or one it may not use) is 4.
 * - 2 USAGE: bad arguments or options, unreadable configuration; nothing was sent.
 * - 3 UNREACHABLE: the server could not be reached or did not answer in time.
 * - 4 KMIP_ERROR: the server refused the operation; "Reason: message" is printed on stderr.
 * - 5 IO_ERROR: a local file could not be read or written, or an encrypted container is
 *   corrupt, truncated or reordered.
 */
export const EXIT = {
  OK: 0,
  NEGATIVE: 1,
  USAGE: 2,
  UNREACHABLE: 3,
  KMIP_ERROR: 4,
  IO_ERROR: 5,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];
