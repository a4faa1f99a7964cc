/**
 * Schema introspection: the keys and sections of a zod object schema, for did-you-mean, sweeps and
 * `--set`. A discriminated union (the `data` section, one shape per task) has the keys of all its
 * shapes, each taken from the first shape that has it.
 */
import * as z from 'zod';

function unwrapped(schema: z.ZodType): z.ZodType {
  let inner = schema;
  for (;;) {
    if (inner instanceof z.ZodOptional || inner instanceof z.ZodNullable || inner instanceof z.ZodDefault || inner instanceof z.ZodPrefault) {
      inner = inner.unwrap() as z.ZodType;
    } else if (inner instanceof z.ZodPipe) {
      inner = inner.in as z.ZodType; // a transform's keys are those it reads
    } else {
      return inner;
    }
  }
}

/** The keys of an object, or of every shape of a discriminated union; undefined for anything else. */
function shapeOf(node: z.ZodType): Record<string, z.ZodType> | undefined {
  if (node instanceof z.ZodObject) return node.shape as Record<string, z.ZodType>;
  if (node instanceof z.ZodDiscriminatedUnion) {
    const merged: Record<string, z.ZodType> = {};
    for (const option of node.options as z.ZodType[]) {
      for (const [key, child] of Object.entries(shapeOf(unwrapped(option)) ?? {})) merged[key] ??= child;
    }
    return merged;
  }
  return undefined;
}

/** The schema reached by following `path` (record values included), or undefined. */
export function schemaAt(schema: z.ZodType, path: readonly PropertyKey[]): z.ZodType | undefined {
  let node: z.ZodType | undefined = unwrapped(schema);
  for (const segment of path) {
    if (node instanceof z.ZodRecord) node = node.valueType as z.ZodType;
    else node = shapeOf(node)?.[segment as string];
    if (node === undefined) return undefined;
    node = unwrapped(node);
  }
  return node;
}

export function dottedPaths(schema: z.ZodType, prefix: string, wantSections: boolean): string[] {
  const shape = shapeOf(unwrapped(schema));
  if (!shape) return wantSections ? [] : [prefix];
  const here = wantSections && prefix ? [prefix] : [];
  return here.concat(
    Object.entries(shape).flatMap(([key, child]) => dottedPaths(child, prefix ? `${prefix}.${key}` : key, wantSections)),
  );
}

/** The keys of a shape that have a default, and those defaults. */
export type Defaults<Shape extends z.ZodRawShape> = {
  [K in keyof Shape as Shape[K] extends z.ZodDefault ? K : never]: z.output<Shape[K]>;
};

export function defaultsOf<Shape extends z.ZodRawShape>(shape: Shape): Defaults<Shape> {
  const entries = Object.entries(shape).flatMap(([key, child]) => (child instanceof z.ZodDefault ? [[key, child.parse(undefined)]] : []));
  return Object.fromEntries(entries) as Defaults<Shape>;
}
