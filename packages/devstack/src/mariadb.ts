import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { createConnection } from 'mysql2/promise';
import type { Dependency } from './dependency.js';
import { paths } from '@mela/toolchain';
import {
  assertPortsFree,
  isListening,
  progress,
  run,
  runningPid,
  startDetached,
  stopProcess,
  until,
} from '@mela/toolchain';
import type { LocalTopology, MysqlInstance } from '@mela/topology';

const mariadbd = '/usr/sbin/mariadbd';

/**
 * One independent MariaDB server per shard, each with its own port, data directory and socket,
 * and the keyspace's database plus an application user created on first start.
 */
export function mariadbDependency(topology: LocalTopology, instance: MysqlInstance): Dependency {
  const name = `mysql-${instance.name}`;
  const { host } = topology;
  const endpoint = `mysql://${host}:${instance.port}/${instance.keyspace} (shard ${instance.shard})`;
  const dataDir = paths.data(name);
  const configFile = join(dataDir, '..', `${name}.cnf`);
  const socket = join(paths.run, `${name}.sock`);
  // Its own temporary directory, beside the data: a starting mariadbd deletes every `#sql*`
  // file in its tmpdir, which in a shared /tmp may be another server's live temporary tables.
  const tmp = join(dataDir, '..', `${name}.tmp`);

  return {
    name,
    async up() {
      if (runningPid(name) !== undefined && (await isListening(instance.port, host))) return;
      await assertPortsFree(
        [
          {
            host,
            port: instance.port,
            what: `MariaDB shard ${instance.keyspace}/${instance.shard}`,
          },
        ],
        'move the shards with MELA_MYSQL_BASE_PORT',
      );
      mkdirSync(paths.run, { recursive: true });
      mkdirSync(tmp, { recursive: true });
      const user = userInfo().username;
      const fresh = !existsSync(join(dataDir, 'mysql'));
      writeFileSync(
        configFile,
        [
          '[mariadbd]',
          `datadir=${dataDir}`,
          `port=${instance.port}`,
          `bind-address=${host}`,
          `socket=${socket}`,
          `pid-file=${join(paths.run, `${name}.mariadb.pid`)}`,
          `tmpdir=${tmp}`,
          `user=${user}`,
          'character-set-server=utf8mb4',
          'collation-server=utf8mb4_unicode_ci',
          'innodb_buffer_pool_size=128M',
          'innodb_log_file_size=64M',
          'innodb_flush_log_at_trx_commit=2',
          'max_connections=500',
          'skip-name-resolve',
          'log-bin=binlog',
          'binlog_format=ROW',
          `server-id=${instance.port}`,
          '',
        ].join('\n'),
      );
      if (fresh) {
        progress(`initialising MariaDB data directory for ${instance.name}`);
        const install = () => {
          mkdirSync(dataDir, { recursive: true });
          run('mariadb-install-db', [
            `--defaults-file=${configFile}`,
            '--auth-root-authentication-method=socket',
            '--skip-test-db',
          ]);
        };
        try {
          install();
        } catch (error) {
          // mariadbd can crash while bootstrapping a new data directory on a loaded machine (a
          // fresh-clone CI run saw signal 11 with three initialising at once): start it over once.
          progress(
            `initialising ${instance.name} failed (${String(error).split('\n')[0] ?? ''}); once more`,
          );
          rmSync(dataDir, { recursive: true, force: true });
          try {
            install();
          } catch (again) {
            // Leave no half-made directory a later run would take as initialised.
            rmSync(dataDir, { recursive: true, force: true });
            throw again;
          }
        }
      }
      progress(`starting MariaDB ${instance.name} on ${host}:${instance.port}`);
      startDetached(name, mariadbd, [`--defaults-file=${configFile}`]);
      await until(() => isListening(instance.port, host), `MariaDB ${instance.name}`, 60_000, {
        logFile: paths.log(name),
      });
      await bootstrap(topology, instance, socket);
    },
    async down() {
      if (await stopProcess(name, 60_000)) progress(`stopped MariaDB ${instance.name}`);
    },
    async status() {
      const pid = runningPid(name);
      return {
        name,
        endpoint,
        pid,
        running: pid !== undefined && (await isListening(instance.port, host)),
      };
    },
  };
}

/** Creates the keyspace database and the application user, over the root socket. */
async function bootstrap(topology: LocalTopology, instance: MysqlInstance, socket: string) {
  const { user, password } = topology.mysql;
  const root = await createConnection({ socketPath: socket, user: 'root' });
  try {
    await root.query(`CREATE DATABASE IF NOT EXISTS \`${instance.keyspace}\``);
    await root.query(`CREATE USER IF NOT EXISTS ?@'%' IDENTIFIED BY ?`, [user, password]);
    await root.query(`GRANT ALL PRIVILEGES ON *.* TO ?@'%' WITH GRANT OPTION`, [user]);
  } finally {
    await root.end();
  }
}
