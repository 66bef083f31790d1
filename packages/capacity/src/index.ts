export { equalShards, nextPowerOfTwo, plan, services } from './model.js';
export type { CapacityInputs, CapacityPlan, ServiceName, ServicePlan } from './model.js';
export {
  bbdEnvironment,
  defaultInputs,
  documentedFigures,
  measuredFigures,
  report,
} from './inputs.js';
export type { BbdEnvironment, MeasuredFigures } from './inputs.js';
