/** Kafka errors that refuse a record itself, so sending the same record again can never succeed. */
const refusedRecordTypes = new Set([
  'MESSAGE_TOO_LARGE',
  'RECORD_LIST_TOO_LARGE',
  'INVALID_RECORD',
  'CORRUPT_MESSAGE',
  'INVALID_TOPIC_EXCEPTION',
]);

/**
 * The broker's error name and message when it refused a record for good, found anywhere in
 * the error's causes and aggregated errors; otherwise undefined (worth trying again).
 */
export function refusedRecord(error: unknown): string | undefined {
  const seen = new Set<unknown>();
  const visit = (e: unknown): string | undefined => {
    if (!(e instanceof Error) || seen.has(e)) return undefined;
    seen.add(e);
    const apiId = (e as { apiId?: unknown }).apiId;
    if (typeof apiId === 'string' && refusedRecordTypes.has(apiId)) return `${apiId}: ${e.message}`;
    const nested = [
      (e as { cause?: unknown }).cause,
      ...(e instanceof AggregateError ? (e.errors as unknown[]) : []),
    ];
    for (const inner of nested) {
      const found = visit(inner);
      if (found !== undefined) return found;
    }
    return undefined;
  };
  return visit(error);
}
