import { k8s } from 'cdk8s-plus-27';
import type { ComputeResources } from './microservice.js';

/** Every Mela container: no privilege, no capabilities, a read-only root filesystem. */
export const lockedContainer: k8s.SecurityContext = {
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  runAsNonRoot: true,
  privileged: false,
  capabilities: { drop: ['ALL'] },
};

/** A pod running as `uid` (and its group), never root, with the runtime's seccomp profile. */
export function nonRootPod(uid: number, fsGroup = true): k8s.PodSecurityContext {
  return {
    runAsNonRoot: true,
    runAsUser: uid,
    runAsGroup: uid,
    ...(fsGroup ? { fsGroup: uid } : {}),
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

/** TCP ports as a NetworkPolicy rule lists them. */
export function tcpPorts(ports: readonly number[]): k8s.NetworkPolicyPort[] {
  return ports.map((port) => ({ port: k8s.IntOrString.fromNumber(port), protocol: 'TCP' }));
}

/** An egress rule: TCP to these peers on these ports. */
export function egressTo(
  to: k8s.NetworkPolicyPeer[],
  ports: readonly number[],
): k8s.NetworkPolicyEgressRule {
  return { to, ports: tcpPorts(ports) };
}

/** Selects the pods of one app (`app.kubernetes.io/name`). */
export function appSelector(name: string): k8s.LabelSelector {
  return { matchLabels: { 'app.kubernetes.io/name': name } };
}

/** The pods of one app in the policy's namespace. */
export function appPeer(name: string): k8s.NetworkPolicyPeer {
  return { podSelector: appSelector(name) };
}

/** Every pod of one namespace. */
export function namespacePeer(name: string): k8s.NetworkPolicyPeer {
  return { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': name } } };
}

/** Egress to the cluster's DNS, which every default-deny policy must let through. */
export const dnsEgress: k8s.NetworkPolicyEgressRule = {
  to: [
    { ...namespacePeer('kube-system'), podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } },
  ],
  ports: [
    { port: k8s.IntOrString.fromNumber(53), protocol: 'UDP' },
    { port: k8s.IntOrString.fromNumber(53), protocol: 'TCP' },
  ],
};

/** Requests and limits as the API types them. */
export function resources(r: {
  readonly requests: ComputeResources;
  readonly limits: ComputeResources;
}): k8s.ResourceRequirements {
  const quantities = (c: ComputeResources) => ({
    cpu: k8s.Quantity.fromString(c.cpu),
    memory: k8s.Quantity.fromString(c.memory),
  });
  return { requests: quantities(r.requests), limits: quantities(r.limits) };
}
