import { Chart, JsonPatch, type ChartProps } from 'cdk8s';
import type { Construct } from 'constructs';
import type { ServiceName } from '@mela/topology';
import {
  Gateway,
  GatewaySpecListenersAllowedRoutesNamespacesFrom,
  GatewaySpecListenersTlsMode,
  HttpRoute,
  HttpRouteSpecRulesFiltersRequestRedirectScheme,
  HttpRouteSpecRulesFiltersRequestRedirectStatusCode,
  HttpRouteSpecRulesFiltersType,
  HttpRouteSpecRulesMatchesPathType,
} from '../imports/gateway.networking.k8s.io.js';
import { EnvoyProxy, EnvoyProxySpecProviderType } from '../imports/gateway.envoyproxy.io.js';
import { edgeCache } from './edge-cache-chart.js';
import type { Environment } from './environments.js';

/** Envoy Gateway's controller, which implements the Gateway API (ingress-nginx is retired). */
export const envoyGatewayController = 'gateway.envoyproxy.io/gatewayclass-controller';

/** The Service Envoy Gateway puts in front of the Gateway's proxies (a name skaffold can forward). */
export const gatewayService = { name: 'mela-gateway', namespace: 'envoy-gateway-system' } as const;

/** The public API the Gateway sends straight to a service: path prefix → the service. */
export const publicRoutes: readonly { readonly prefix: string; readonly service: ServiceName }[] = [
  { prefix: '/api/catalog', service: 'catalog' },
  { prefix: '/api/auth', service: 'catalog' },
  { prefix: '/api/cart', service: 'cart' },
];

/**
 * What goes through the edge cache's nginx: assets, images and the page (cached), and the
 * orders API, whose checkouts wait their turn in its waiting room as they do in local mode.
 */
export const edgePrefixes = ['/static', '/api/orders', '/'] as const;

/**
 * The edge in a cluster: the `mela` Gateway of the `mela` GatewayClass (HTTP, and HTTPS
 * with a certificate cert-manager issues when `env.tls` names an issuer), one HTTPRoute per
 * service for the API, and one to the edge cache for the static assets, the page and the
 * orders API (its checkout waiting room).
 */
export class GatewayChart extends Chart {
  constructor(scope: Construct, id: string, env: Environment, props: ChartProps = {}) {
    super(scope, id, { ...props, namespace: env.namespace });
    const labels = { 'app.kubernetes.io/part-of': 'mela' };
    const tls = env.tls;
    const sameNamespace = {
      namespaces: { from: GatewaySpecListenersAllowedRoutesNamespacesFrom.SAME },
    };
    new Gateway(this, 'gateway', {
      metadata: {
        name: 'mela',
        labels,
        ...(tls ? { annotations: { 'cert-manager.io/cluster-issuer': tls.clusterIssuer } } : {}),
      },
      spec: {
        gatewayClassName: 'mela',
        listeners: [
          {
            name: 'http',
            protocol: 'HTTP',
            port: 80,
            allowedRoutes: sameNamespace,
          },
          ...(tls
            ? [
                {
                  name: 'https',
                  protocol: 'HTTPS',
                  port: 443,
                  hostname: tls.hostname,
                  tls: {
                    mode: GatewaySpecListenersTlsMode.TERMINATE,
                    certificateRefs: [{ kind: 'Secret', name: 'mela-tls' }],
                  },
                  allowedRoutes: sameNamespace,
                },
              ]
            : []),
        ],
      },
    });
    // The GatewayClass points here: Envoy's Service gets a fixed name, a load balancer in prod.
    const proxy = new EnvoyProxy(this, 'envoy-proxy', {
      metadata: { name: 'mela', labels },
      spec: {
        provider: {
          type: EnvoyProxySpecProviderType.KUBERNETES,
          kubernetes: { envoyService: { name: gatewayService.name } },
        },
      },
    });
    // The Service's type as the environment names it (the generated enum holds the same names;
    // the chart's value stands in its place).
    proxy.addJsonPatch(
      JsonPatch.add(
        '/spec/provider/kubernetes/envoyService/type',
        env.gatewayServiceType ?? (tls ? 'LoadBalancer' : 'ClusterIP'),
      ),
    );
    // With TLS, the API and pages are served on HTTPS only, and plain HTTP answers with a
    // permanent redirect there. cert-manager's HTTP-01 solver adds its own route for
    // `/.well-known/acme-challenge/<token>` on the HTTP listener, an exact path that wins over
    // this prefix, so certificates can still be issued and renewed.
    const parentRefs = [tls ? { name: 'mela', sectionName: 'https' } : { name: 'mela' }];
    if (tls) {
      new HttpRoute(this, 'route-https-redirect', {
        metadata: { name: 'https-redirect', labels },
        spec: {
          parentRefs: [{ name: 'mela', sectionName: 'http' }],
          rules: [
            {
              matches: [
                { path: { type: HttpRouteSpecRulesMatchesPathType.PATH_PREFIX, value: '/' } },
              ],
              filters: [
                {
                  type: HttpRouteSpecRulesFiltersType.REQUEST_REDIRECT,
                  requestRedirect: {
                    scheme: HttpRouteSpecRulesFiltersRequestRedirectScheme.HTTPS,
                    statusCode: HttpRouteSpecRulesFiltersRequestRedirectStatusCode.VALUE_301,
                  },
                },
              ],
            },
          ],
        },
      });
    }
    new HttpRoute(this, 'route-edge-cache', {
      metadata: { name: edgeCache.name, labels },
      spec: {
        parentRefs,
        rules: [
          {
            matches: edgePrefixes.map((prefix) => ({
              path: { type: HttpRouteSpecRulesMatchesPathType.PATH_PREFIX, value: prefix },
            })),
            backendRefs: [{ name: edgeCache.name, port: edgeCache.port }],
          },
        ],
      },
    });
    const services = [...new Set(publicRoutes.map((r) => r.service))];
    for (const service of services) {
      new HttpRoute(this, `route-${service}`, {
        metadata: { name: service, labels },
        spec: {
          parentRefs,
          rules: [
            {
              matches: publicRoutes
                .filter((r) => r.service === service)
                .map((r) => ({
                  path: { type: HttpRouteSpecRulesMatchesPathType.PATH_PREFIX, value: r.prefix },
                })),
              backendRefs: [{ name: service, port: 3000 }],
            },
          ],
        },
      });
    }
  }
}
