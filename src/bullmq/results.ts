// batchResults: a batch's finished jobs read back from the queue, one plain record per job (what `kling-v2a results`
// prints).
import type { Job, Queue } from "bullmq";
import type { ResultRecord, Task } from "../types.js";
import type { VideoJobData } from "./enqueue.js";

/** One finished job, as a line of `kling-v2a batch`'s results file (its `error` is the last attempt's reason). */
export type BatchJobResult = ResultRecord;

export interface BatchProgress {
  /** Jobs of the batch not finished yet (waiting, running, delayed for a retry). */
  pending: number;
}

/** Jobs read per Redis round trip. */
const PAGE = 500;

/**
 * The batch's completed jobs, then its failed ones, page after page (bounded memory), oldest first.
 * `progress.pending` counts the batch's other jobs once the iteration has ended.
 */
export async function* batchResults(
  queue: Pick<Queue, "getJobs">,
  batchId: string,
  progress: BatchProgress = { pending: 0 },
): AsyncGenerator<BatchJobResult> {
  // By state, not by the job's fields: a job that completed on a retry still carries its earlier attempt's
  // failedReason.
  for await (const job of jobsOf(queue, ["completed"], batchId)) yield describe(job as Job<VideoJobData, Task>, true);
  for await (const job of jobsOf(queue, ["failed"], batchId)) yield describe(job as Job<VideoJobData, Task>, false);
  progress.pending = 0;
  for await (const _ of jobsOf(queue, ["waiting", "active", "delayed", "prioritized", "waiting-children"], batchId))
    progress.pending++;
}

async function* jobsOf(
  queue: Pick<Queue, "getJobs">,
  states: Parameters<Queue["getJobs"]>[0],
  batchId: string,
): AsyncGenerator<Job> {
  for (let start = 0; ; start += PAGE) {
    const page = (await queue.getJobs(states, start, start + PAGE - 1, true)) as Job[];
    for (const job of page) if (job && (job.data as Partial<VideoJobData> | undefined)?.batchId === batchId) yield job;
    if (page.length < PAGE) return;
  }
}

function describe(job: Job<VideoJobData, Task>, completed: boolean): BatchJobResult {
  const result: BatchJobResult = { index: job.data.index, externalTaskId: String(job.id), ok: completed };
  const task = job.returnvalue as Task | null | undefined;
  const progress = job.progress as { task_id?: string; task_status?: string } | undefined;
  if (completed && task) {
    result.task_id = task.task_id;
    result.task_status = task.task_status;
    result.audios = (task.task_result?.audios ?? []).map((a) => ({ url_mp3: a.url_mp3, url_wav: a.url_wav }));
    return result;
  }
  result.ok = false;
  if (progress && typeof progress === "object" && progress.task_id) {
    result.task_id = progress.task_id;
    if (progress.task_status) result.task_status = progress.task_status;
  }
  result.error = { message: job.failedReason || "the job failed" };
  return result;
}
