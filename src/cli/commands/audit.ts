import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import type { JsonValue } from '../output';
import { parseInteger, type Runtime } from '../runtime';

interface AuditEntry { time: string; user: string; operation: string; uids: string[]; result: string }

interface AuditOptions { uid?: string; user?: string; since?: string; limit?: number }

function parseTime(value: string): string {
  if (Number.isNaN(Date.parse(value))) throw new InvalidArgumentError(`--since must be an ISO 8601 time, e.g. 2025-01-31T12:00:00Z, not ${value}`);
  return value;
}

/** `p11kms audit`: the server's record of operations, newest first; for the server's admins (`serve --admin`). */
export function registerAudit(program: Command, rt: Runtime): void {
  program
    .command('audit')
    .description('the operations the KMS ran, newest first: time, user, operation, objects, result (server admins only)')
    .option('--uid <uid>', 'only records naming this object')
    .option('--user <user>', 'only records of this user')
    .option('--since <iso-time>', 'only records at or after this time', parseTime)
    .option('--limit <n>', 'at most this many records (default 100, at most 10000)', parseInteger('--limit'))
    .action(rt.action<AuditOptions>(async ({ client, out }, _args, o) => {
      const query = new URLSearchParams();
      if (o.uid !== undefined) query.set('uid', o.uid);
      if (o.user !== undefined) query.set('user', o.user);
      if (o.since !== undefined) query.set('since', o.since);
      if (o.limit !== undefined) query.set('limit', String(o.limit));
      const qs = query.toString();
      const records = (await client().rest('GET', `/audit${qs ? `?${qs}` : ''}`)) as AuditEntry[];
      out.result(records as unknown as JsonValue, records.map((r) => `${r.time} ${r.user} ${r.operation} ${r.result}${r.uids.length ? ` ${r.uids.join(' ')}` : ''}`));
    }));
}
