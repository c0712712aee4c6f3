// enqueueVideos: a batch's items as BullMQ jobs whose ids are their external_task_ids, so adding them again adds
// nothing.
import type { JobsOptions, Queue } from "bullmq";
import { KlingValidationError } from "../errors.js";
import { batchItemId } from "../request/batch.js";
import { checkCreateInput } from "../request/input.js";
import type { CreateTaskInput } from "../types.js";

/** The name every job of this package carries (BullMQ job names are labels; the worker takes any). */
export const JOB_NAME = "video-to-audio";

/** Finished jobs are kept this long (7 days), so enqueueing the same items again within it adds nothing. */
export const KEEP_FINISHED_SECONDS = 7 * 24 * 60 * 60;

/**
 * The job options enqueueVideos gives every job unless `jobOptions` overrides them:
 * - `attempts` 8 with exponential backoff from 2 s (±50 % jitter): a transient failure (a 5xx, a lost connection,
 *   a wait that ran past its deadline) costs an attempt; every retry looks the task up instead of creating it again.
 *   A failed task or a refused input ends the job at once (UnrecoverableError); a 1303 costs no attempt at all.
 * - completed and failed jobs kept for 7 days: within them the ids stay taken, so a rerun adds nothing.
 */
export const DEFAULT_JOB_OPTIONS = {
  attempts: 8,
  backoff: { type: "exponential", delay: 2_000, jitter: 0.5 },
  removeOnComplete: { age: KEEP_FINISHED_SECONDS },
  removeOnFail: { age: KEEP_FINISHED_SECONDS },
} as const satisfies JobsOptions;

/** The batch id used when the caller gives none: ids then depend on the content alone, the same on every run. */
export const DEFAULT_BATCH_ID = "kv2a";

/** What a job carries: the create body with its external_task_id (= the job id) and where it came from. */
export interface VideoJobData {
  input: CreateTaskInput & { external_task_id: string };
  /** The batch the item was enqueued in. */
  batchId: string;
  /** The item's position in the `inputs` of the enqueueVideos call that added it (the first, for identical inputs). */
  index: number;
  /**
   * @internal The start (attemptsStarted) whose create Kling refused with 1303: the next start need not look the task
   * up.
   */
  refusedStart?: number;
}

export interface EnqueueOptions {
  /**
   * Names the batch: derived ids are `<batchId>-<hash of the input>`, exactly as runBatch derives them, so a batch run
   * with `runBatch`/`kling-v2a batch` and the same id shares its tasks. @default "kv2a"
   */
  batchId?: string | undefined;
  /** BullMQ job options merged over DEFAULT_JOB_OPTIONS (`jobId` is always the external_task_id). @default {} */
  jobOptions?: Omit<JobsOptions, "jobId"> | undefined;
  /**
   * The `index` each job records, by input position (e.g. the items' lines in a file). @default the position in
   * `inputs`
   */
  indexes?: readonly number[] | undefined;
  /**
   * Told, once the jobs are added, how many were new and how many ids the queue already held (waiting, running, or
   * kept after they finished), as seen just before adding. Needs a BullMQ Queue (its getJobState). @default none
   */
  onCounts?: ((counts: EnqueueCounts) => void) | undefined;
}

/** What an enqueueVideos call did: distinct jobs added, and those whose id the queue already held. */
export interface EnqueueCounts {
  added: number;
  alreadyQueued: number;
}

/** The queue enqueueVideos adds to: BullMQ's Queue (`getJobState` only to count what was already there). */
type TargetQueue = Pick<Queue, "addBulk"> & Partial<Pick<Queue, "getJobState">>;

/** Jobs added per Redis round trip. */
const ADD_CHUNK = 500;

/**
 * Adds one job per distinct item and returns the job ids in input order. Every input is checked before anything is
 * added: an invalid one, or an id BullMQ cannot take, refuses the whole call with a KlingValidationError whose
 * `field` names the index and the field (`inputs[3].video_url`).
 */
export async function enqueueVideos(
  queue: TargetQueue,
  inputs: Iterable<CreateTaskInput> | AsyncIterable<CreateTaskInput>,
  options: EnqueueOptions = {},
): Promise<string[]> {
  const batchId = checkBatchId(options.batchId ?? DEFAULT_BATCH_ID);
  const ids: string[] = [];
  const jobs = new Map<string, { name: string; data: VideoJobData; opts: JobsOptions }>();
  let index = 0;
  for await (const raw of inputs) {
    const input = checkItem(raw, index);
    const id = await batchItemId(batchId, input);
    checkJobId(id, index);
    const first = jobs.get(id);
    if (first) sameItem(first.data, input, index);
    else
      jobs.set(id, {
        name: JOB_NAME,
        data: { input: { ...input, external_task_id: id }, batchId, index: options.indexes?.[index] ?? index },
        opts: { ...DEFAULT_JOB_OPTIONS, ...options.jobOptions, jobId: id },
      });
    ids.push(id);
    index++;
  }
  const all = [...jobs.values()];
  let alreadyQueued = 0;
  // An id already in the queue (waiting, running or kept after it finished) is left as it is: BullMQ adds nothing.
  for (let start = 0; start < all.length; start += ADD_CHUNK) {
    const chunk = all.slice(start, start + ADD_CHUNK);
    if (options.onCounts) alreadyQueued += await countQueued(queue, chunk);
    await queue.addBulk(chunk);
  }
  if (options.onCounts && queue.getJobState) options.onCounts({ added: all.length - alreadyQueued, alreadyQueued });
  return ids;
}

/** How many of these jobs' ids the queue holds now; 0 when the queue cannot say (a stand-in with addBulk only). */
async function countQueued(queue: TargetQueue, jobs: Array<{ opts: JobsOptions }>): Promise<number> {
  const { getJobState } = queue;
  if (!getJobState) return 0;
  const states = await Promise.all(jobs.map((job) => getJobState.call(queue, job.opts.jobId ?? "")));
  return states.filter((state) => state !== "unknown").length;
}

function checkItem(raw: CreateTaskInput, index: number): CreateTaskInput {
  try {
    return checkCreateInput(raw);
  } catch (error) {
    if (!(error instanceof KlingValidationError)) throw error;
    throw new KlingValidationError(
      `inputs[${index}].${error.field}`,
      `inputs[${index}]: ${error.message} Nothing was enqueued.`,
      { cause: error },
    );
  }
}

/** BullMQ refuses job ids that are all digits (they clash with its own counters) or contain ":" (its key separator). */
function jobIdProblem(id: string): string | undefined {
  if (/^\d+$/.test(id)) return "is all digits";
  if (id.includes(":")) return 'contains ":"';
  return undefined;
}

function checkJobId(id: string, index: number): void {
  const problem = jobIdProblem(id);
  if (problem) {
    throw new KlingValidationError(
      `inputs[${index}].external_task_id`,
      `inputs[${index}]: external_task_id "${id}" ${problem}, which BullMQ cannot take as a job id; use another id ` +
        `(or none, to derive one). Nothing was enqueued.`,
    );
  }
}

function checkBatchId(batchId: unknown): string {
  if (typeof batchId !== "string" || batchId === "")
    throw new KlingValidationError("batchId", "batchId must be a non-empty string.");
  if (batchId.includes(":"))
    throw new KlingValidationError(
      "batchId",
      `batchId "${batchId}" contains ":", which BullMQ cannot take in a job id.`,
    );
  return batchId;
}

/** Two items with one caller id but different bodies would silently become one job: refuse instead. */
function sameItem(first: VideoJobData, input: CreateTaskInput, index: number): void {
  const { external_task_id: _, ...a } = first.input;
  const { external_task_id: __, ...b } = input;
  if (canonical(a) === canonical(b)) return;
  throw new KlingValidationError(
    `inputs[${index}].external_task_id`,
    `inputs[${index}] has the external_task_id of inputs[${first.index}] ("${first.input.external_task_id}") but a ` +
      `different body; each task needs its own id. Nothing was enqueued.`,
  );
}

function canonical(value: Record<string, unknown>): string {
  return JSON.stringify(
    Object.keys(value)
      .sort()
      .map((key) => [key, value[key]]),
  );
}
