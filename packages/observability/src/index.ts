export {
  asPrometheusQuery,
  buildDashboard,
  dashboardFiles,
  dashboardQueries,
  dashboardSpecs,
  type DashboardQuery,
  type DashboardSpec,
  type PanelQuery,
  type PanelSpec,
} from './dashboards.js';
export {
  alertRules,
  ruleFile,
  ruleFileContent,
  ruleGroups,
  sloRecord,
  slos,
  type AlertRule,
  type RecordingRule,
  type RuleGroup,
} from './alerts.js';
export {
  latencyQuantile,
  matchedRoutes,
  rateBy,
  requestRate,
  requestShare,
  serverErrors,
} from './queries.js';
