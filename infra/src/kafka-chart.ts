import { Chart, type ChartProps } from 'cdk8s';
import type { Construct } from 'constructs';
import { localTopology } from '@mela/topology';
import {
  Kafka,
  KafkaNodePool,
  KafkaNodePoolSpecRoles,
  KafkaNodePoolSpecStorageType,
  KafkaSpecKafkaAuthorizationType,
  KafkaSpecKafkaListenersAuthenticationType,
  KafkaSpecKafkaListenersType,
  KafkaTopic,
  KafkaUser,
  KafkaUserSpecAuthenticationType,
  KafkaUserSpecAuthorizationAclsOperations,
  KafkaUserSpecAuthorizationAclsResourcePatternType,
  KafkaUserSpecAuthorizationAclsResourceType,
  KafkaUserSpecAuthorizationType,
} from '../imports/kafka.strimzi.io.js';
import type { Environment } from './environments.js';
import { externalService } from './external-data.js';
import { dataLayer, secrets } from './services-chart.js';

/** The broker version: the newest Strimzi 1.2 deploys, the same local mode runs. */
export const kafkaVersion = '4.3.1';

/** The cluster's name (the services reach its `<name>-kafka-bootstrap` Service). */
export const kafkaCluster = dataLayer.kafka.cluster;

/**
 * Kafka as Strimzi runs it (`kafka.strimzi.io/v1`): a KRaft cluster of one node pool holding
 * both roles, a SCRAM-authenticated internal listener with ACLs, the project's topics as
 * KafkaTopics and the services' identity as a KafkaUser (the User Operator writes its password
 * into the Secret the services read).
 */
export class KafkaChart extends Chart {
  constructor(scope: Construct, id: string, env: Environment, props: ChartProps = {}) {
    super(scope, id, { ...props, namespace: env.namespace });
    if (env.externalData) {
      // A broker outside the cluster: its bootstrap under the name Strimzi would give it (the
      // topics are the broker's business there).
      externalService(this, 'kafka-bootstrap', {
        name: dataLayer.kafka.bootstrap,
        port: dataLayer.kafka.port,
        portName: 'tcp-clients',
        endpoint: env.externalData.kafka,
        labels: {
          'app.kubernetes.io/name': dataLayer.kafka.app,
          'app.kubernetes.io/part-of': 'mela',
        },
      });
      return;
    }
    const cluster = { 'strimzi.io/cluster': kafkaCluster, 'app.kubernetes.io/part-of': 'mela' };
    const { replicas, storage } = env.kafka;
    const minInSync = Math.min(2, replicas);

    new KafkaNodePool(this, 'node-pool', {
      metadata: { name: 'dual-role', labels: cluster },
      spec: {
        replicas,
        roles: [KafkaNodePoolSpecRoles.CONTROLLER, KafkaNodePoolSpecRoles.BROKER],
        storage: {
          type: KafkaNodePoolSpecStorageType.PERSISTENT_HYPHEN_CLAIM,
          size: storage,
          deleteClaim: false,
        },
      },
    });

    new Kafka(this, 'kafka', {
      metadata: { name: kafkaCluster, labels: { 'app.kubernetes.io/part-of': 'mela' } },
      spec: {
        kafka: {
          version: kafkaVersion,
          listeners: [
            {
              name: 'plain',
              port: dataLayer.kafka.port,
              type: KafkaSpecKafkaListenersType.INTERNAL,
              tls: false,
              authentication: {
                type: KafkaSpecKafkaListenersAuthenticationType.SCRAM_HYPHEN_SHA_HYPHEN_512,
              },
            },
          ],
          authorization: { type: KafkaSpecKafkaAuthorizationType.SIMPLE },
          config: {
            'default.replication.factor': replicas,
            'min.insync.replicas': minInSync,
            'offsets.topic.replication.factor': replicas,
            'transaction.state.log.replication.factor': replicas,
            'transaction.state.log.min.isr': minInSync,
            'auto.create.topics.enable': false,
          },
        },
        entityOperator: { topicOperator: {}, userOperator: {} },
      },
    });

    for (const topic of localTopology({}).topics) {
      new KafkaTopic(this, `topic-${topic.name}`, {
        metadata: { name: topic.name.replace(/\./g, '-'), labels: cluster },
        spec: {
          topicName: topic.name,
          partitions: env.ordersPartitions ?? topic.partitions,
          replicas,
          config: {
            'min.insync.replicas': minInSync,
            'retention.ms': 7 * 24 * 3600 * 1000,
          },
        },
      });
    }

    const literal = KafkaUserSpecAuthorizationAclsResourcePatternType.LITERAL;
    const { READ, WRITE, DESCRIBE } = KafkaUserSpecAuthorizationAclsOperations;
    const topics = localTopology({}).topics.map((t) => t.name);
    new KafkaUser(this, 'services-user', {
      metadata: { name: secrets.kafkaPassword.secret, labels: cluster },
      spec: {
        authentication: { type: KafkaUserSpecAuthenticationType.SCRAM_HYPHEN_SHA_HYPHEN_512 },
        authorization: {
          type: KafkaUserSpecAuthorizationType.SIMPLE,
          acls: [
            ...topics.map((name) => ({
              resource: {
                type: KafkaUserSpecAuthorizationAclsResourceType.TOPIC,
                name,
                patternType: literal,
              },
              operations: [READ, WRITE, DESCRIBE],
            })),
            {
              // The consumers' group, its retry group, and the DLQ command's groups
              // (notification.dlq-replay, notification.dlq-read-*, which it deletes after use).
              resource: {
                type: KafkaUserSpecAuthorizationAclsResourceType.GROUP,
                name: 'notification',
                patternType: KafkaUserSpecAuthorizationAclsResourcePatternType.PREFIX,
              },
              operations: [READ, DESCRIBE, KafkaUserSpecAuthorizationAclsOperations.DELETE],
            },
            {
              // The order service's idempotent producer.
              resource: { type: KafkaUserSpecAuthorizationAclsResourceType.CLUSTER },
              operations: [KafkaUserSpecAuthorizationAclsOperations.IDEMPOTENT_WRITE, DESCRIBE],
            },
          ],
        },
      },
    });
  }
}
