/** Reading a YAML or JSON file whose top level is a mapping, with one-line errors naming line and column. */
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import YAML from 'yaml';
import { inputError } from '../errors.js';
import { describeValue } from './schema-blocks.js';

/** The parser's reason on one line, without the code frame some parsers append. */
function oneLine(text: string): string {
  return text.split('\n')[0]!.trim();
}
/** The yaml package's reason without its trailing ` at line L, column C:`. */
export function yamlReason(error: Error): string {
  return oneLine(error.message).replace(/ at line \d+, column \d+:?$/, '');
}

/** Read a `.yaml`/`.yml`/`.json` file whose top level is a mapping. */
export function readMappingFile(file: string): Record<string, unknown> {
  const extension = extname(file).toLowerCase();
  if (!['.yaml', '.yml', '.json'].includes(extension)) {
    throw inputError(file, null, 'expected a .yaml, .yml or .json file');
  }
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const problem =
      code === 'ENOENT' ? 'file not found' : code === 'EISDIR' ? 'is a folder, not a file' : oneLine((err as Error).message);
    throw inputError(file, null, problem);
  }
  const content = extension === '.json' ? parseJson(text, file) : parseYaml(text, file);
  if (content === null || typeof content !== 'object' || Array.isArray(content)) {
    throw inputError(file, null, `expected a mapping of keys at the top level, got ${content == null ? 'nothing' : describeValue(content)}`);
  }
  return content as Record<string, unknown>;
}

function parseYaml(text: string, file: string): unknown {
  const document = YAML.parseDocument(text);
  const [error] = document.errors;
  if (error) {
    const where = error.linePos ? `line ${error.linePos[0].line}, column ${error.linePos[0].col}` : '(yaml)';
    throw inputError(file, where, yamlReason(error));
  }
  try {
    return document.toJS();
  } catch (err) {
    throw inputError(file, '(yaml)', yamlReason(err as Error)); // e.g. an unresolved alias
  }
}

function parseJson(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    // V8 says either "… at position N" or quotes the whole source, which may span lines.
    const message = (err as Error).message.replace(/, ".*" is not valid JSON$/s, '');
    const position = /at position (\d+)/.exec(message);
    if (!position) throw inputError(file, '(json)', oneLine(message));
    const before = text.slice(0, Number(position[1])).split('\n');
    const where = `line ${before.length}, column ${before.at(-1)!.length + 1}`;
    throw inputError(file, where, message.replace(/ in JSON at position \d+.*$/, ''));
  }
}
