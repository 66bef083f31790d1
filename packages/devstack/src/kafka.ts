import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Dependency } from './dependency.js';
import { paths, repoRoot } from '@mela/toolchain';
import {
  assertPortsFree,
  copyMavenDependencies,
  isListening,
  progress,
  run,
  runningPid,
  startDetached,
  stopProcess,
  until,
} from '@mela/toolchain';
import type { LocalTopology } from '@mela/topology';

/**
 * The Apache Kafka version Mela runs locally: the newest one Strimzi 1.2 deploys, so local
 * mode and a Strimzi cluster speak the same broker.
 */
export const kafkaVersion = '4.3.1';

const pom = join(repoRoot, 'packages', 'devstack', 'kafka', 'pom.xml');

/** Fetches the broker's jars from Maven Central once, into the git-ignored cache. */
export function ensureKafkaJars(): string {
  const libs = join(paths.cache(`kafka-${kafkaVersion}`), 'libs');
  if (existsSync(join(libs, `kafka_2.13-${kafkaVersion}.jar`))) return libs;
  progress(`fetching Apache Kafka ${kafkaVersion} jars from Maven Central`);
  copyMavenDependencies(pom, libs, { 'kafka.version': kafkaVersion });
  return libs;
}

/** A single Kafka node in KRaft combined mode (broker + controller), sized for one machine. */
export function kafkaDependency(topology: LocalTopology): Dependency {
  const name = 'kafka';
  const { host } = topology;
  const { port, controllerPort } = topology.kafka;
  const endpoint = `${host}:${port}`;
  const dataDir = paths.data(name);
  const configDir = paths.data(`${name}-config`);

  return {
    name,
    async up() {
      if (runningPid(name) !== undefined && (await isListening(port, host))) return;
      await assertPortsFree(
        [
          { host, port, what: 'Kafka' },
          { host, port: controllerPort, what: "Kafka's controller" },
        ],
        'move them with MELA_KAFKA_PORT and MELA_KAFKA_CONTROLLER_PORT',
      );
      const node = prepareKafkaNode({
        host,
        port,
        controllerPort,
        dataDir,
        configDir,
        heap: { min: '256m', max: '768m' },
      });
      if (!node.formatted()) {
        progress('formatting Kafka KRaft storage');
        node.format();
      }
      progress(`starting Kafka ${kafkaVersion} (KRaft) on ${endpoint}`);
      startDetached(name, 'java', [...node.command]);
      await until(() => isListening(port, host), `Kafka ${kafkaVersion}`, 90_000, {
        logFile: paths.log(name),
      });
    },
    async down() {
      if (await stopProcess(name, 30_000)) progress('stopped Kafka');
    },
    async status() {
      const pid = runningPid(name);
      return { name, endpoint, pid, running: pid !== undefined && (await isListening(port, host)) };
    },
  };
}

/** One KRaft node's configuration written to disk, and how to format and run it. */
export interface KafkaNode {
  /** `java` arguments that run the broker. */
  readonly command: readonly string[];
  /** Whether the storage has been formatted (KRaft needs a cluster id before its first start). */
  formatted(): boolean;
  format(): void;
}

/**
 * A single Kafka node in KRaft combined mode (broker + controller), sized for one machine:
 * writes its configuration into `configDir` and fetches the jars if they are missing.
 */
export function prepareKafkaNode(node: {
  readonly host: string;
  readonly port: number;
  readonly controllerPort: number;
  readonly dataDir: string;
  readonly configDir: string;
  readonly heap: { readonly min: string; readonly max: string };
}): KafkaNode {
  const libs = ensureKafkaJars();
  mkdirSync(node.configDir, { recursive: true });
  const serverProperties = join(node.configDir, 'server.properties');
  const log4j = join(node.configDir, 'log4j2.properties');
  writeFileSync(serverProperties, brokerProperties(node));
  writeFileSync(log4j, log4jProperties);
  const java = [
    `-Xms${node.heap.min}`,
    `-Xmx${node.heap.max}`,
    `-Dlog4j2.configurationFile=${log4j}`,
    '-cp',
    `${libs}/*`,
  ];
  return {
    command: [...java, '-XX:+UseG1GC', 'kafka.Kafka', serverProperties],
    formatted: () =>
      existsSync(node.dataDir) && readdirSync(node.dataDir).includes('meta.properties'),
    format() {
      // A Kafka cluster id: 16 random bytes, base64url. One in 32 starts with '-', which the
      // tool's argument parser takes for an option unless it is attached with '='.
      const clusterId = randomBytes(16).toString('base64url');
      run('java', [
        ...java,
        'kafka.tools.StorageTool',
        'format',
        `--cluster-id=${clusterId}`,
        '-c',
        serverProperties,
      ]);
    },
  };
}

function brokerProperties(node: {
  readonly host: string;
  readonly port: number;
  readonly controllerPort: number;
  readonly dataDir: string;
}): string {
  const { host, port, controllerPort, dataDir } = node;
  return [
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@${host}:${controllerPort}`,
    `listeners=PLAINTEXT://${host}:${port},CONTROLLER://${host}:${controllerPort}`,
    `advertised.listeners=PLAINTEXT://${host}:${port}`,
    'controller.listener.names=CONTROLLER',
    'inter.broker.listener.name=PLAINTEXT',
    'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    `log.dirs=${dataDir}`,
    // One node: every internal topic has a single replica.
    'offsets.topic.replication.factor=1',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'share.coordinator.state.topic.replication.factor=1',
    'share.coordinator.state.topic.min.isr=1',
    'default.replication.factor=1',
    'min.insync.replicas=1',
    'num.partitions=6',
    // Topics are created on purpose (as Strimzi KafkaTopics are), never by a typo.
    'auto.create.topics.enable=false',
    'group.initial.rebalance.delay.ms=0',
    'log.retention.hours=24',
    'log.segment.bytes=67108864',
    '',
  ].join('\n');
}

const log4jProperties = [
  'rootLogger.level=INFO',
  'rootLogger.appenderRef.stdout.ref=STDOUT',
  'appender.stdout.type=Console',
  'appender.stdout.name=STDOUT',
  'appender.stdout.layout.type=PatternLayout',
  'appender.stdout.layout.pattern=[%d] %p %m (%c)%n',
  'logger.kafka.name=kafka',
  'logger.kafka.level=WARN',
  'logger.apache.name=org.apache.kafka',
  'logger.apache.level=WARN',
  '',
].join('\n');
