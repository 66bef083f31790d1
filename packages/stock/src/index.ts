export { StockLedger } from './stock-ledger.js';
export type { StockAdjustment, StockLine, StockReservation } from './stock-ledger.js';
export {
  StockChangeListener,
  announceStockChanges,
  defaultStockChangesChannel,
  stockChangesEnv,
} from './stock-changes.js';
