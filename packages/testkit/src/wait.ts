// The one polling helper lives with the local servers (the lowest package that waits).
export { until } from '@mela/devstack';
