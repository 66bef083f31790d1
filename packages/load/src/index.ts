export { runLoad, steps } from './driver.js';
export type { LoadOptions, LoadResult, LoadSample, SaleOutcome, Scenario } from './driver.js';
export { judge, percentile, summarise, table, Tally } from './stats.js';
export type { SummaryRow, Verdict } from './stats.js';
export { runDrills } from './drill.js';
export type { DrillOptions, DrillReport, DrillRow, EmailCount, OrderEmails } from './drill.js';
export {
  actionRoutes,
  flashSale,
  pickAction,
  rampTo,
  shopMix,
  slo,
  type Action,
  type FlashSaleShape,
  type Stage,
} from '../k6/shapes.js';
