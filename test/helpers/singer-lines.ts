/** Singer messages for target tests, as the lines a tap prints. */

export async function* lines(...items: string[]): AsyncGenerator<string> {
  yield* items;
}

export const schemaMessage = (stream: string, properties: Record<string, unknown>, keys: string[] = ['id']) =>
  JSON.stringify({ type: 'SCHEMA', stream, schema: { type: 'object', properties }, key_properties: keys });

export const recordMessage = (stream: string, rec: unknown, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ type: 'RECORD', stream, record: rec, ...extra });

export const stateMessage = (value: unknown) => JSON.stringify({ type: 'STATE', value });
