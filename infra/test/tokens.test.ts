import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubeObject } from '@mela/testkit';
import { environments, secrets } from '../src/index.js';
import { synthLoad, synthObjects, type TestRunSpec } from './support.js';

interface EnvVar {
  readonly name: string;
  readonly value?: string;
  readonly valueFrom?: { readonly secretKeyRef?: { readonly name: string; readonly key: string } };
}
interface IpBlock {
  readonly cidr: string;
  readonly except?: readonly string[];
}
interface EgressRule {
  readonly to?: readonly { readonly ipBlock?: IpBlock }[];
  readonly ports?: readonly { readonly port: number }[];
}

const ref = (s: { secret: string; key: string }) => ({ name: s.secret, key: s.key });
const services = ['catalog', 'cart', 'order', 'notification'] as const;
const verifying = new Set(['catalog', 'cart', 'order']);

function containerEnv(objects: readonly KubeObject[], name: string): Map<string, EnvVar> {
  const deployment = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === name);
  const spec = deployment?.['spec'] as { template: { spec: { containers: { env: EnvVar[] }[] } } };
  return new Map((spec.template.spec.containers[0]?.env ?? []).map((e) => [e.name, e]));
}

/** The address blocks (with their ports) a service's NetworkPolicy lets it reach. */
function egressBlocks(objects: readonly KubeObject[], name: string): string[] {
  const policy = objects.find((o) => o.kind === 'NetworkPolicy' && o.metadata.name === name);
  const egress = (policy?.['spec'] as { egress?: EgressRule[] }).egress ?? [];
  return egress.flatMap((rule) =>
    (rule.to ?? []).flatMap((peer) =>
      peer.ipBlock
        ? [
            `${peer.ipBlock.cidr} except ${(peer.ipBlock.except ?? []).join(',')} :${(rule.ports ?? []).map((p) => p.port).join(',')}`,
          ]
        : [],
    ),
  );
}

describe('who issues bearer tokens, per environment', () => {
  for (const env of Object.values(environments)) {
    const objects = synthObjects(env);
    const { tokens } = env;

    it(`when ${env.name} runs the services, then they expect its issuer and audience, and ${tokens.kind === 'jwks' ? 'verify against the JWKS with no signing key mounted' : 'verify the dev key'}`, () => {
      for (const name of services) {
        const vars = containerEnv(objects, name);
        assert.equal(vars.get('AUTH_JWT_ISSUER')?.value, tokens.issuer, name);
        assert.equal(vars.get('AUTH_JWT_AUDIENCE')?.value, tokens.audience, name);
        if (tokens.kind === 'jwks') {
          assert.equal(vars.get('AUTH_JWKS_URL')?.value, tokens.jwksUrl, name);
          assert.equal(vars.has('AUTH_JWT_SECRET'), false, `${name} holds no signing key`);
          const refs = [...vars.values()].map((v) => v.valueFrom?.secretKeyRef?.name);
          assert.equal(refs.includes(secrets.auth.secret), false, name);
        } else {
          assert.deepEqual(vars.get('AUTH_JWT_SECRET')?.valueFrom?.secretKeyRef, ref(secrets.auth));
          assert.equal(vars.has('AUTH_JWKS_URL'), false, name);
        }
      }
    });

    it(`when ${env.name}'s services verify tokens, then only they may reach the identity provider, on its port and no private address`, () => {
      for (const name of services) {
        const toIdentityProvider = egressBlocks(objects, name).filter((b) =>
          tokens.kind === 'jwks' ? b.endsWith(`:${String(tokens.egress.port)}`) : true,
        );
        const expected =
          tokens.kind === 'jwks' && verifying.has(name)
            ? tokens.egress.blocks.map(
                (b) =>
                  `${b.cidr} except ${(b.except ?? []).join(',')} :${String(tokens.egress.port)}`,
              )
            : [];
        // local-cluster's data host is an address block too: only count port-443-style peers.
        if (env.externalData === undefined || tokens.kind === 'jwks')
          assert.deepEqual(toIdentityProvider, expected, name);
      }
      if (tokens.kind === 'jwks') {
        for (const block of tokens.egress.blocks.filter((b) => b.cidr === '0.0.0.0/0')) {
          for (const private_ of ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16']) {
            assert.ok(block.except?.includes(private_), `${private_} is not reachable this way`);
          }
        }
      }
    });

    it(`when ${env.name}'s load test runs, then its runners ${tokens.kind === 'jwks' ? 'read tokens the identity provider issued, holding no key' : 'sign with the dev key for its issuer and audience'}`, () => {
      for (const run of synthLoad(env).objects.filter((o) => o.kind === 'TestRun')) {
        const vars = new Map(
          (run['spec'] as TestRunSpec).runner.env.map((e) => [e.name, e as EnvVar]),
        );
        if (tokens.kind === 'jwks') {
          assert.deepEqual(
            vars.get('LOAD_TOKENS')?.valueFrom?.secretKeyRef,
            ref(secrets.loadTokens),
          );
          assert.equal(vars.has('AUTH_JWT_SECRET'), false);
        } else {
          assert.deepEqual(vars.get('AUTH_JWT_SECRET')?.valueFrom?.secretKeyRef, ref(secrets.auth));
          assert.equal(vars.get('AUTH_JWT_ISSUER')?.value, tokens.issuer);
          assert.equal(vars.get('AUTH_JWT_AUDIENCE')?.value, tokens.audience);
        }
      }
    });
  }
});
