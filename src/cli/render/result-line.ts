/** The JSON result line every command ends with under --json (docs/json-output.md). */
export const JSON_FORMAT_VERSION = 1;

export function resultLine(command: string, data: unknown): string {
  return `${JSON.stringify({ type: 'result', command, formatVersion: JSON_FORMAT_VERSION, data })}\n`;
}
