// The `kling-video-to-audio/bullmq` entry: many workers on many machines share one Kling account through a BullMQ
// queue.
export {
  DEFAULT_BATCH_ID,
  DEFAULT_JOB_OPTIONS,
  type EnqueueCounts,
  type EnqueueOptions,
  enqueueVideos,
  JOB_NAME,
  KEEP_FINISHED_SECONDS,
  type VideoJobData,
} from "./enqueue.js";
export { type BatchJobResult, type BatchProgress, batchResults } from "./results.js";
export {
  ACCOUNT_CONCURRENCY_WAIT_MS,
  createVideoToAudioWorker,
  type VideoJobProgress,
  type VideoToAudioWorkerOptions,
  WORKER_DEFAULTS,
} from "./worker.js";
