import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deadPort } from './network.js';
import { stopChild } from './process.js';
import { listening } from './redis.js';
import { until } from './wait.js';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');

/** A real Kafka broker of the test's own, which the test may stop and start again. */
export interface OwnKafka {
  readonly brokers: string[];
  /** SIGKILL: the broker vanishes as in a crash (its log stays for the restart). */
  kill(): Promise<void>;
  /** Starts it again on the same port and data. */
  start(): Promise<void>;
  /** Stops it for good and removes its files. */
  stop(): Promise<void>;
}

/**
 * Starts a private single-node KRaft broker from the jars the devstack fetched (`npm run deps`
 * puts them in `.mela/cache`), for tests that take Kafka down without disturbing the shared one.
 */
export async function startOwnKafka(version = '4.3.1'): Promise<OwnKafka> {
  const state = process.env['MELA_STATE_DIR'] ?? join(repoRoot, '.mela');
  const libs = join(state, 'cache', `kafka-${version}`, 'libs');
  if (!existsSync(libs)) throw new Error(`no Kafka jars in ${libs}; run npm run deps -- up first`);
  const [port, controllerPort] = [await deadPort(), await deadPort()];
  const dir = mkdtempSync(join(tmpdir(), 'mela-kafka-'));
  const properties = join(dir, 'server.properties');
  writeFileSync(
    properties,
    [
      'process.roles=broker,controller',
      'node.id=1',
      `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
      `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
      `advertised.listeners=PLAINTEXT://127.0.0.1:${port}`,
      'controller.listener.names=CONTROLLER',
      'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
      `log.dirs=${join(dir, 'data')}`,
      'offsets.topic.replication.factor=1',
      'offsets.topic.num.partitions=3',
      'transaction.state.log.replication.factor=1',
      'transaction.state.log.min.isr=1',
      'share.coordinator.state.topic.replication.factor=1',
      'share.coordinator.state.topic.min.isr=1',
      'auto.create.topics.enable=false',
      'group.initial.rebalance.delay.ms=0',
      '',
    ].join('\n'),
  );
  writeFileSync(join(dir, 'log4j2.properties'), 'rootLogger.level=WARN\n');
  const java = [
    '-Xms128m',
    '-Xmx384m',
    `-Dlog4j2.configurationFile=${join(dir, 'log4j2.properties')}`,
    '-cp',
    `${libs}/*`,
  ];
  execFileSync(
    'java',
    [...java, 'kafka.tools.StorageTool', 'format', '-t', 'mela-test-kafka-00000', '-c', properties],
    {
      stdio: 'ignore',
    },
  );
  let child: ChildProcess | undefined;
  const start = async () => {
    child = spawn('java', [...java, 'kafka.Kafka', properties], { stdio: 'ignore' });
    const running = child;
    await until(
      async () => {
        if (running.exitCode !== null) throw new Error(`kafka exited with ${running.exitCode}`);
        return listening(port);
      },
      'the test Kafka broker to listen',
      60_000,
    );
  };
  const kill = () => stopChild(child, 'SIGKILL');
  await start();
  return {
    brokers: [`127.0.0.1:${port}`],
    kill,
    start,
    async stop() {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
