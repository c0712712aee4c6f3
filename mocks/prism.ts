// Starts Prism in-process on the published spec: the one mock used by tests, `npm start` and `npm run mock`.
import { fileURLToPath } from "node:url";
import { createLogger } from "@stoplight/prism-core";
import { getHttpOperationsFromSpec } from "@stoplight/prism-http";
import { createServer } from "@stoplight/prism-http-server";

export interface PrismOptions {
  /** @default 0 (a free port) */
  port?: number;
  /** @default "127.0.0.1" */
  host?: string;
  /** The spec to serve. @default the package's openapi/openapi.yaml */
  specPath?: string;
  /** Answer 500 when a response would break its own schema (catches wrong examples). @default true */
  errors?: boolean;
  /** Log Prism's own lines to stderr. @default false */
  verbose?: boolean;
  /**
   * Let Prism POST its own example body to a create's `callback_url` (the spec's `callbacks`). The lifecycle mock
   * turns this off and delivers the real task itself, so a receiver sees only those. @default true
   */
  callbacks?: boolean;
}

export interface RunningPrism {
  /** `http://host:port`, without a trailing slash. */
  url: string;
  /** The operations Prism parsed from the spec (for facts such as field names). */
  operations: ReadonlyArray<{ method: string; path: string; request?: unknown }>;
  close(): Promise<void>;
}

// From mocks/ (the source), dist/mocks/ or dist/chunks/ (the bundles) alike: the spec ships at openapi/openapi.yaml.
const SPEC_PATH = fileURLToPath(
  new URL("../openapi/openapi.yaml", import.meta.url).href.replace(/\/dist\/openapi\//, "/openapi/"),
);

export async function startPrism(options: PrismOptions = {}): Promise<RunningPrism> {
  const operations = await getHttpOperationsFromSpec(options.specPath ?? SPEC_PATH);
  if (options.callbacks === false) for (const operation of operations) delete operation.callbacks;
  const server = createServer(operations, {
    // Prism's own logger (pino) writes to stdout unless given a destination; stdout is for the banner.
    components: { logger: createLogger("prism", { enabled: options.verbose ?? false }, process.stderr) },
    cors: true,
    config: {
      checkSecurity: true,
      validateRequest: true,
      validateResponse: true,
      errors: options.errors ?? true,
      mock: { dynamic: false },
      isProxy: false,
      upstreamProxy: undefined,
    },
  });
  const url = await server.listen(options.port ?? 0, options.host ?? "127.0.0.1");
  return { url: url.replace(/\/$/, ""), operations, close: () => server.close() };
}
