import { findErrorBy } from '@platformatic/kafka';

/** Kafka errors that refuse a record itself, so sending the same record again can never succeed. */
const refusedRecordTypes = [
  'MESSAGE_TOO_LARGE',
  'RECORD_LIST_TOO_LARGE',
  'INVALID_RECORD',
  'CORRUPT_MESSAGE',
  'INVALID_TOPIC_EXCEPTION',
] as const;

/**
 * The broker's error name and message when it refused a record for good (anywhere among the
 * client's aggregated errors, found by the client's own `findErrorBy`); otherwise undefined
 * (worth trying again).
 */
export function refusedRecord(error: unknown): string | undefined {
  if (!(error instanceof Error)) return undefined;
  for (const type of refusedRecordTypes) {
    const found = findErrorBy(error, 'apiId', type);
    if (found) return `${type}: ${found.message}`;
  }
  return undefined;
}

/** True when the client says the failed operation may succeed if tried again. */
export function retriable(error: unknown): boolean {
  return error instanceof Error && findErrorBy(error, 'canRetry', true) !== null;
}
