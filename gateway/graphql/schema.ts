// The schema is assembled from modules found next to this file: every `<name>.graphql` is one module, and a
// sibling `<name>.ts` (optional) exports its `resolvers` and `loaders`. Adding a feature to the API is adding such a
// pair; nothing here changes. base.graphql declares the root types and the shared vocabulary; modules
// `extend type Query / Mutation / Subscription`. A root type that no module extends is left out of the schema.
import { access, readdir, readFile } from 'node:fs/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { buildASTSchema, concatAST, GraphQLObjectType, GraphQLSchema, parse, Source, type DocumentNode } from 'graphql';
import type { Loaders, Resolvers } from './context.ts';

export interface GraphQLModule {
  name: string;
  typeDefs: DocumentNode;
  resolvers?: Resolvers;
  loaders?: Loaders;
}

export class SchemaModuleError extends Error {
  override name = 'SchemaModuleError';
}

const MODULES_DIRECTORY = fileURLToPath(new URL('.', import.meta.url));

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

async function loadModule(name: string): Promise<GraphQLModule> {
  const sdlPath = join(MODULES_DIRECTORY, `${name}.graphql`);
  let typeDefs: DocumentNode;
  try {
    // Named sources make schema errors point at the file.
    typeDefs = parse(new Source(await readFile(sdlPath, 'utf8'), sdlPath));
  } catch (error) {
    throw new SchemaModuleError(`${sdlPath}: ${(error as Error).message}`, { cause: error });
  }
  const codePath = join(MODULES_DIRECTORY, `${name}.ts`);
  if (!(await exists(codePath))) return { name, typeDefs };
  const exported: unknown = await import(pathToFileURL(codePath).href);
  const { resolvers, loaders } = isRecord(exported) ? exported : {};
  for (const [exportName, value] of Object.entries({ resolvers, loaders })) {
    if (value !== undefined && !isRecord(value)) {
      throw new SchemaModuleError(`${codePath}: export ${exportName} must be an object`);
    }
  }
  // Shapes inside are checked by mercurius when they are defined (an unknown type or field fails the start).
  return { name, typeDefs, resolvers: resolvers as Resolvers | undefined, loaders: loaders as Loaders | undefined };
}

/** Every module in gateway/graphql, in name order. */
export async function loadModules(): Promise<GraphQLModule[]> {
  const names = (await readdir(MODULES_DIRECTORY))
    .filter((file) => file.endsWith('.graphql'))
    .map((file) => file.slice(0, -'.graphql'.length))
    .sort();
  return Promise.all(names.map(loadModule));
}

function hasFields(type: GraphQLObjectType | null | undefined): type is GraphQLObjectType {
  return type != null && Object.keys(type.getFields()).length > 0;
}

export function buildSchema(modules: readonly GraphQLModule[]): GraphQLSchema {
  const schema = buildASTSchema(concatAST(modules.map((module) => module.typeDefs)));
  const config = schema.toConfig();
  const roots = [config.mutation, config.subscription];
  const empty = new Set<unknown>(roots.filter((type) => type != null && !hasFields(type)));
  if (empty.size === 0) return schema;
  return new GraphQLSchema({
    ...config,
    mutation: hasFields(config.mutation) ? config.mutation : undefined,
    subscription: hasFields(config.subscription) ? config.subscription : undefined,
    types: config.types.filter((type) => !empty.has(type)),
  });
}
