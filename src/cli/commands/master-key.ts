import type { Command } from 'commander';
import { UsageError } from '../errors';
import { parseInteger, type GlobalOptions, type Runtime } from '../runtime';
import type { ServerOptions } from '../../server/main';

interface MasterKeyFlags {
  db?: string;
  dataDir?: string;
  masterKeyFile?: string;
}

interface RotateFlags extends MasterKeyFlags {
  graceMs?: number;
  keepPrevious?: boolean;
}

function addStoreOptions(cmd: Command): Command {
  return cmd
    .option('--db <file|url>', 'the database, as for serve (default <data-dir>/kms.sqlite)')
    .option('--data-dir <dir>', 'data directory, as for serve')
    .option('--master-key-file <file>', 'the master key ring, as for serve');
}

/**
 * `p11kms master-key rotate|rewrap`: run beside the live servers, on the same database and key
 * settings (the server's --config, P11KMS_SERVER_CONF and P11KMS_MASTER_KEY are read as serve
 * reads them). See README "Key material at rest".
 */
export function registerMasterKey(program: Command, rt: Runtime): void {
  const group = program.command('master-key').description('the server master key that seals key material at rest: rotate it, re-seal under it');

  /** The server settings these commands share with serve, and an open store. */
  async function open(flags: MasterKeyFlags, env: Readonly<Record<string, string | undefined>>) {
    const server = await import('../../server/main');
    const { readServerConfig, resolveServeOptions, ServerConfigError } = await import('../../server/config-file');
    const { openStore } = await import('../../server/store/open-store');
    const { adoptMasterKeys } = await import('../../server/store/sealed-store');
    const configPath = program.opts<GlobalOptions>().config ?? env['P11KMS_SERVER_CONF'];
    let opts: ServerOptions;
    try {
      opts = resolveServeOptions({ flags: { dbPath: flags.db, dataDir: flags.dataDir, masterKeyFile: flags.masterKeyFile }, env, ...(configPath ? { file: readServerConfig(configPath) } : {}) });
    } catch (e) {
      if (e instanceof ServerConfigError) throw new UsageError(e.message);
      throw e;
    }
    const source = server.resolveMasterKeySource(opts, env);
    const raw = await openStore(server.resolveDbPath(opts));
    try {
      const { ring } = await adoptMasterKeys(raw, source, (m) => rt.io.stderr.write(`warning: ${m}\n`));
      return { raw, ring, source };
    } catch (e) {
      await raw.close();
      throw e;
    }
  }

  addStoreOptions(group.command('rotate'))
    .description('make a new master key current and re-seal every key under it while the servers run; the key file then holds only the new key')
    .option('--grace-ms <ms>', 'wait after switching the key file before re-sealing, so writes in flight under the old key land first (default 2000)', parseInteger('--grace-ms'))
    .option('--keep-previous', 'leave the old keys in the key file (read-only) after re-sealing')
    .action(rt.action<RotateFlags>(async ({ out, io }, _args, o) => {
      const { newMasterKey, replaceMasterKeyFile, describeSource, MasterKeyError } = await import('../../server/store/master-key');
      const { rewrapAll } = await import('../../server/store/sealed-store');
      const { raw, ring, source } = await open(o, io.env);
      try {
        if (source.kind !== 'file') {
          throw new UsageError(`the master key comes from ${describeSource(source)}, which this command cannot rewrite: put "NEW,OLD" there (p11kms master-key new makes a key), restart the servers, then run p11kms master-key rewrap`);
        }
        const previous = ring.ids;
        const fresh = newMasterKey();
        // Registered before any server can seal under it: a server starting meanwhile then checks it holds it.
        await raw.adoptMasterKey(fresh.id, (ids) => {
          const missing = ids.filter((id) => !ring.holds(id));
          if (missing.length > 0) throw new MasterKeyError(`the database holds material sealed under master key ${missing.join(', ')}, which ${source.path} does not hold`);
        }, () => {
          throw new MasterKeyError('no master key is registered');
        });
        replaceMasterKeyFile(source.path, [fresh, ...ring.all]);
        // Servers re-read the file before their next seal; writes sealed just before still land under the old key.
        await new Promise((r) => setTimeout(r, o.graceMs ?? 2000));
        const report = await rewrapAll(raw, ring);
        const stillNeeded = (await raw.masterKeyIds()).filter((id) => id !== fresh.id);
        if (!o.keepPrevious && stillNeeded.length === 0) replaceMasterKeyFile(source.path, [fresh]);
        out.result(
          { current: fresh.id, previous, resealed: report.resealed, passes: report.passes, forgotten: report.forgotten, keyFileHoldsPrevious: o.keepPrevious === true || stillNeeded.length > 0 },
          [
            `master key ${fresh.id} is current (was ${previous[0]})`,
            `re-sealed ${report.resealed} object(s) in ${report.passes} pass(es)`,
            o.keepPrevious || stillNeeded.length > 0 ? `${source.path} still holds ${previous.join(', ')} (read-only)${stillNeeded.length > 0 ? `; rows still need ${stillNeeded.join(', ')}` : ''}` : `${source.path} now holds only ${fresh.id}: keep a backup of it`,
          ],
        );
      } finally {
        await raw.close();
      }
    }));

  addStoreOptions(group.command('rewrap'))
    .description('re-seal every key under the current master key (the first of the ring) and forget the keys no longer needed: after a restart with "NEW,OLD" in P11KMS_MASTER_KEY or the credential')
    .action(rt.action<MasterKeyFlags>(async ({ out, io }, _args, o) => {
      const { rewrapAll } = await import('../../server/store/sealed-store');
      const { raw, ring } = await open(o, io.env);
      try {
        const report = await rewrapAll(raw, ring);
        const needed = await raw.masterKeyIds();
        out.result({ current: ring.current.id, resealed: report.resealed, passes: report.passes, forgotten: report.forgotten, needed }, [
          `re-sealed ${report.resealed} object(s) under master key ${ring.current.id} in ${report.passes} pass(es)`,
          `the database needs only ${needed.join(', ')}: the other keys of the ring may go`,
        ]);
      } finally {
        await raw.close();
      }
    }));

  group.command('new')
    .argument('<file>', 'the key file to create (must not exist); 0600')
    .description('create a new master key file, for --master-key-file, P11KMS_MASTER_KEY (its content) or a systemd credential')
    .action(rt.action(async ({ out }, args) => {
      const { createMasterKeyFile, loadMasterKeyRing } = await import('../../server/store/master-key');
      const path = args[0] as string;
      if (!createMasterKeyFile(path)) throw new UsageError(`${path} exists; a master key file is never overwritten`);
      const id = loadMasterKeyRing({ kind: 'file', path }, false).current.id;
      out.result({ id, file: path }, `master key ${id} in ${path}`);
    }));
}
