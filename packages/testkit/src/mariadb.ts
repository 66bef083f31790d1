import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { promisify } from 'node:util';
import { migrate, migrationsRoot, readMigrations } from '@mela/schema';
import { localTopology } from '@mela/topology';
import { createConnection } from 'mysql2/promise';
import { deadPort } from './network.js';
import { ownServer } from './own-server.js';
import { isListening, stopChild } from '@mela/toolchain';

/** A real MariaDB server of the test's own, which the test may kill and start again. */
export interface OwnMariaDb {
  readonly port: number;
  /** `mysql://…/<database>` as the application user (the local topology's credentials). */
  url(database: string): string;
  /** Creates `database` and applies one keyspace's migrations to it. */
  createKeyspaceDatabase(database: string, keyspace: string): Promise<void>;
  /** SIGKILL: the server vanishes as in a crash (its data stays). */
  kill(): Promise<void>;
  /** Starts it again on the same port and data directory. */
  start(): Promise<void>;
  /** Stops it for good and removes its files. */
  stop(): Promise<void>;
}

/**
 * Starts a private MariaDB (Debian's mariadbd, as the devstack installs it) on a free loopback
 * port with a data directory of its own, for tests that take a shard down for real without
 * disturbing the shared servers other tests use.
 */
export async function startOwnMariaDb(): Promise<OwnMariaDb> {
  const port = await deadPort();
  const dir = mkdtempSync(join(tmpdir(), 'mela-mariadb-'));
  const dataDir = join(dir, 'data');
  const socket = join(dir, 'mariadbd.sock');
  const configFile = join(dir, 'my.cnf');
  // Its own temporary directory: a starting mariadbd deletes every `#sql*` file in its tmpdir
  // (the last run's leftovers), and in a shared /tmp those may be another server's live ones
  // (seen: a parallel test's mariadb-install-db failed on "Error on delete of '/tmp/#sql-…'").
  const tmp = join(dir, 'tmp');
  mkdirSync(tmp);
  const { user, password } = localTopology().mysql;
  writeFileSync(
    configFile,
    [
      '[mariadbd]',
      `datadir=${dataDir}`,
      `port=${port}`,
      'bind-address=127.0.0.1',
      `socket=${socket}`,
      `pid-file=${join(dir, 'mariadbd.pid')}`,
      `tmpdir=${tmp}`,
      `user=${userInfo().username}`,
      'character-set-server=utf8mb4',
      'collation-server=utf8mb4_unicode_ci',
      'innodb_buffer_pool_size=32M',
      'innodb_log_file_size=16M',
      'innodb_flush_log_at_trx_commit=2',
      'skip-name-resolve',
      'skip-log-bin',
      '',
    ].join('\n'),
  );
  let child: ChildProcess | undefined;
  const start = async () => {
    child = spawn('/usr/sbin/mariadbd', [`--defaults-file=${configFile}`], { stdio: 'ignore' });
    // mariadbd opens its TCP port before its unix socket: ready when both accept (the tests ask
    // on the port, the admin connection below on the socket).
    const ready = async () => (await isListening(port)) && isListening(socket);
    for (let wait = 20; !(await ready()); wait = Math.min(wait * 2, 250)) {
      if (child.exitCode !== null) throw new Error(`mariadbd exited with ${child.exitCode}`);
      await delay(wait);
    }
  };
  const root = () => createConnection({ socketPath: socket, user: 'root' });
  const kill = () => stopChild(child, 'SIGKILL');

  const stop = await ownServer(dir, kill, async () => {
    await promisify(execFile)('mariadb-install-db', [
      `--defaults-file=${configFile}`,
      '--auth-root-authentication-method=socket',
      '--skip-test-db',
    ]);
    await start();
    const admin = await root();
    try {
      await admin.query(`CREATE USER IF NOT EXISTS ?@'%' IDENTIFIED BY ?`, [user, password]);
      await admin.query(`GRANT ALL PRIVILEGES ON *.* TO ?@'%'`, [user]);
    } finally {
      await admin.end();
    }
  });

  return {
    port,
    url: (database) => `mysql://${user}:${password}@127.0.0.1:${port}/${database}`,
    async createKeyspaceDatabase(database, keyspace) {
      const connection = await root();
      try {
        await connection.query(`CREATE DATABASE \`${database}\``);
        await connection.changeUser({ database });
        await migrate(connection, await readMigrations(join(migrationsRoot, keyspace)));
      } finally {
        await connection.end();
      }
    },
    start,
    kill,
    stop,
  };
}
