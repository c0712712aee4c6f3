// The mock's public types (options, handle, delivery records), apart from the code so that importing them never loads
// Prism.

export type MockTaskStatus = "submitted" | "processing" | "succeed" | "failed";

export interface MockOptions {
  /** Port of the mock; 0 picks a free one. @default 0 */
  port?: number;
  /** Interface to listen on. @default "127.0.0.1" */
  host?: string;
  /**
   * Remember created tasks and move them along; false answers every request with the spec's static examples
   * (chosen with `Prefer`), still with playable media, field-named errors and no key needed. @default true
   */
  lifecycle?: boolean;
  /** How long a created task stays `submitted`. @default 2000 */
  submittedMs?: number;
  /** How long it then stays `processing` before it ends `succeed` (or `failed`). @default 4000 */
  processingMs?: number;
  /**
   * Answer requests without a usable `Authorization: Bearer <token>` as the real API does: 401 with code 1001 (no
   * header, or an empty token) or 1002 (another scheme). Any non-empty bearer token is accepted. @default false
   */
  requireAuth?: boolean;
  /**
   * Sign callback deliveries with Standard Webhooks headers (`webhook-id`, `webhook-timestamp`,
   * `webhook-signature`) using this secret (`whsec_<base64>`), as Kling does when a webhook secret is set in its
   * console; `verifyCallback` with the same secret accepts them. @default undefined (deliveries are unsigned)
   */
  webhookSecret?: string;
  /** How long one delivery attempt may take before it counts as "no answer" and is retried. @default 3000 */
  callbackTimeoutMs?: number;
  /**
   * Waits before the 2nd, 3rd, ... attempt of a failed delivery; its length + 1 is the number of attempts. @default
   * [500, 1000, 2000, 4000]
   */
  callbackRetryDelaysMs?: readonly number[];
  /** Called once per delivery when it settles (delivered, failed after its last attempt, or dropped). @default none */
  onDelivery?: (delivery: Delivery) => void;
  /**
   * Log one line per request (and the lifecycle decision). Delivery attempts are logged whenever `log` is given.
   * @default false
   */
  verbose?: boolean;
  /**
   * The clock, in Unix milliseconds; inject one in tests to move tasks along without sleeping (callbacks then go out
   * when a request finds a task's status changed). @default Date.now
   */
  now?: () => number;
  /**
   * Tasks remembered at most; beyond it the oldest are forgotten (and then answer 404 like any unknown id). @default
   * 10000
   */
  maxTasks?: number;
  /** Where log lines go. @default a line on stderr when `verbose`, else nowhere */
  log?: (line: string) => void;
}

/** One attempt to deliver a callback. */
export interface DeliveryAttempt {
  /** When it started, in Unix milliseconds (the real clock). */
  at: number;
  /** The receiver's HTTP status, when it answered. */
  status?: number;
  /** Why it got no answer (refused, timed out, ...), when it did not. */
  error?: string;
  /** How long it took. */
  ms: number;
}

/** One callback: a status change of one task, POSTed to its `callback_url` until accepted or out of attempts. */
export interface Delivery {
  /** The `webhook-id` header: the same on every attempt of this delivery (also when unsigned, for correlation). */
  id: string;
  taskId: string;
  /** The `task_status` this delivery reports. */
  status: string;
  url: string;
  /** The raw JSON body sent (the task, as `getTask` answers it at that status). */
  body: string;
  /** Whether it carries Standard Webhooks signature headers. */
  signed: boolean;
  attempts: DeliveryAttempt[];
  /**
   * `pending` while attempts remain; `delivered` on a 2xx; `failed` after the last attempt; `dropped` when too many
   * were pending or the mock closed.
   */
  outcome: "pending" | "delivered" | "failed" | "dropped";
}

export interface RunningMock {
  /** `http://host:port`, without a trailing slash. */
  url: string;
  /**
   * Every callback delivery so far (the latest 1000), oldest first; also served as JSON at `GET /__mock/deliveries`.
   */
  readonly deliveries: readonly Delivery[];
  /**
   * Stops the layer, its timers and deliveries, and Prism; drops keep-alive connections so the port is free when it
   * resolves.
   */
  close(): Promise<void>;
}
