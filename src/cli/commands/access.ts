import type { Command } from 'commander';
import { KmipError } from '../../kmip/errors';
import { parseOperationType, wireName } from '../../server/access/operation-types';
import { UsageError } from '../errors';
import type { JsonValue } from '../output';
import type { Runtime } from '../runtime';

interface UserAccess { user_id: string; operations: string[] }
interface OwnedObject { object_id: string; state: string; attributes: Record<string, string | number> }
interface ObtainedAccess { object_id: string; owner_id: string; state: string; operations: string[] }

/** The operation names as Cosmian's server reads them; a typo stops here, before anything is sent. */
function operationTypes(names: string[]): string[] {
  try {
    return names.map((n) => wireName(parseOperationType(n)));
  } catch (e) {
    if (e instanceof KmipError) throw new UsageError(e.message);
    throw e;
  }
}

/** `p11kms access …`: Cosmian's `ckms access-rights` on the same REST routes. */
export function registerAccess(program: Command, rt: Runtime): void {
  const access = program.command('access').description('share objects with other users: grant, revoke and list access rights (owner only)');

  for (const [verb, route, done] of [['grant', '/access/grant', 'granted'], ['revoke', '/access/revoke', 'revoked']] as const) {
    access
      .command(verb)
      .description(`${verb} USER ("*" for every user) the right to run OPERATIONs (get, export, encrypt, decrypt, sign, signature_verify, mac, get_attributes, revoke, destroy, rekey, …) on UID`)
      .argument('<user>')
      .argument('<uid>')
      .argument('<operation...>')
      .action(rt.action(async ({ client, out }, args) => {
        const [user, uid, ops] = args as unknown as [string, string, string[]];
        const body = { unique_identifier: uid, user_id: user, operation_types: operationTypes(ops) };
        const answer = (await client().rest('POST', route, body)) as { success?: string };
        out.result({ uid, user, operations: body.operation_types, [done]: true }, answer.success ?? `${done} ${body.operation_types.join(', ')} on ${uid} for ${user}`);
      }));
  }

  access
    .command('list')
    .description('the users holding rights on UID and their operations (owner only)')
    .argument('<uid>')
    .action(rt.action(async ({ client, out }, [uid]) => {
      const list = (await client().rest('GET', `/access/list/${encodeURIComponent(uid as string)}`)) as UserAccess[];
      out.result(list as unknown as JsonValue, list.map((a) => `${a.user_id}: ${a.operations.join(', ')}`));
    }));

  access
    .command('owned')
    .description('the objects the caller owns')
    .action(rt.action(async ({ client, out }) => {
      const list = (await client().rest('GET', '/access/owned')) as OwnedObject[];
      out.result(list as unknown as JsonValue, list.map((o) => `[${o.state}] ${o.object_id} ${Object.values(o.attributes).join(' ')}`));
    }));

  access
    .command('obtained')
    .description('the objects of other users the caller holds rights on')
    .action(rt.action(async ({ client, out }) => {
      const list = (await client().rest('GET', '/access/obtained')) as ObtainedAccess[];
      out.result(list as unknown as JsonValue, list.map((o) => `[${o.state}][${o.owner_id}] ${o.object_id}: ${o.operations.join(', ')}`));
    }));
}
