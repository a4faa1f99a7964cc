/** Schema introspection: the keys and sections of a zod object schema, for did-you-mean, sweeps and `--set`. */
import * as z from 'zod';

function unwrapped(schema: z.ZodType): z.ZodType {
  let inner = schema;
  while (
    inner instanceof z.ZodOptional ||
    inner instanceof z.ZodNullable ||
    inner instanceof z.ZodDefault ||
    inner instanceof z.ZodPrefault
  ) {
    inner = inner.unwrap() as z.ZodType;
  }
  return inner;
}

/** The schema reached by following `path` (record values included), or undefined. */
export function schemaAt(schema: z.ZodType, path: readonly PropertyKey[]): z.ZodType | undefined {
  let node: z.ZodType | undefined = unwrapped(schema);
  for (const segment of path) {
    if (node instanceof z.ZodObject) node = (node.shape as Record<PropertyKey, z.ZodType>)[segment];
    else if (node instanceof z.ZodRecord) node = node.valueType as z.ZodType;
    else return undefined;
    if (node === undefined) return undefined;
    node = unwrapped(node);
  }
  return node;
}

export function childKeys(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  const node = schemaAt(schema, path);
  return node instanceof z.ZodObject ? Object.keys(node.shape) : [];
}

export function dottedPaths(schema: z.ZodType, prefix: string, wantSections: boolean): string[] {
  const node = unwrapped(schema);
  if (!(node instanceof z.ZodObject)) return wantSections ? [] : [prefix];
  const here = wantSections && prefix ? [prefix] : [];
  return here.concat(
    Object.entries(node.shape as Record<string, z.ZodType>).flatMap(([key, child]) =>
      dottedPaths(child, prefix ? `${prefix}.${key}` : key, wantSections),
    ),
  );
}
