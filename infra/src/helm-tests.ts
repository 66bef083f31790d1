import { App, Chart } from 'cdk8s';
import { k8s } from 'cdk8s-plus-27';
import { apiServices } from '@mela/topology';
import { appSelector, dnsEgress, egressTo, lockedContainer, nonRootPod } from './pod-policy.js';

/** The app label of `helm test`'s pod: the services let it in (see services-chart's entrances). */
export const shopTestApp = 'mela-shop-test';

/** What each service answers the test when it is up: the catalog lists, the rest want a token. */
const checks = [
  { service: 'catalog', path: '/api/catalog/categories', status: 200 },
  { service: 'cart', path: '/api/cart', status: 401 },
  { service: 'order', path: '/api/orders', status: 401 },
] as const;

const script = `
const checks = ${JSON.stringify(checks)};
Promise.all(checks.map(async ({ service, path, status }) => {
  const answer = await fetch('http://' + service + ':3000' + path, { signal: AbortSignal.timeout(10000) });
  if (answer.status !== status) throw new Error(service + path + ' answered ' + answer.status + ', not ' + status);
  console.log(service + path + ': ' + answer.status);
})).then(() => console.log('the shop answers'), (error) => { console.error(error.message); process.exit(1); });
`.trim();

/**
 * `helm test mela`: a pod of the shop's image asking each public service what it answers
 * when it is up, and the NetworkPolicy that lets it (the namespace denies by default). Both are
 * test hooks: they exist only while the test runs, and a failed pod stays for its logs.
 */
export function helmTestManifests(image: string, imagePullPolicy: string): unknown[] {
  const chart = new Chart(new App(), 'helm-tests');
  const labels = { 'app.kubernetes.io/name': shopTestApp, 'app.kubernetes.io/part-of': 'mela' };
  const hook = (weight: number) => ({
    'helm.sh/hook': 'test',
    'helm.sh/hook-weight': String(weight),
    'helm.sh/hook-delete-policy': 'before-hook-creation,hook-succeeded',
  });
  new k8s.KubeNetworkPolicy(chart, 'policy', {
    metadata: { name: shopTestApp, labels, annotations: hook(-1) },
    spec: {
      podSelector: appSelector(shopTestApp),
      policyTypes: ['Ingress', 'Egress'],
      egress: [
        dnsEgress,
        egressTo(
          apiServices.map((service) => ({ podSelector: appSelector(service) })),
          [3000],
        ),
      ],
    },
  });
  new k8s.KubePod(chart, 'pod', {
    metadata: { name: shopTestApp, labels, annotations: hook(0) },
    spec: {
      restartPolicy: 'Never',
      automountServiceAccountToken: false,
      securityContext: nonRootPod(1000, false),
      containers: [
        {
          name: 'shop-answers',
          image,
          imagePullPolicy,
          command: ['node', '-e', script],
          securityContext: lockedContainer,
          resources: {
            requests: {
              cpu: k8s.Quantity.fromString('50m'),
              memory: k8s.Quantity.fromString('64Mi'),
            },
            limits: {
              cpu: k8s.Quantity.fromString('500m'),
              memory: k8s.Quantity.fromString('128Mi'),
            },
          },
        },
      ],
    },
  });
  return chart.toJson();
}
