// The public data types, taken from the generated spec types: wire names stay as the API spells them.
import type { components } from "../generated/openapi.js";

/** A video-to-audio task: the `data` of a `getTask` answer. */
export type Task = components["schemas"]["Task"];
/** `submitted` → `processing` → `succeed` | `failed`. */
export type TaskStatus = components["schemas"]["TaskStatus"];
/** The create body: exactly one of `video_id` / `video_url` (both or neither fails to compile). */
export type CreateTaskInput = components["schemas"]["CreateTaskRequest"];
/** One generated audio track of a succeeded task. */
export type ResultAudio = components["schemas"]["ResultAudio"];
/** The source video with the generated audio muxed in. */
export type ResultVideo = components["schemas"]["ResultVideo"];
/** The body of a status callback, in either dialect. */
export type CallbackPayload = components["schemas"]["CallbackPayload"];

/**
 * One line of a batch's results (JSONL): what `kling-v2a batch` appends and `kling-v2a results` prints for each
 * finished item, the same on one machine and on a queue.
 */
export interface ResultRecord {
  /** The item's 0-based line in the input file (or its index in the call that added it). */
  index: number;
  /** The task's external_task_id (on a queue, also the job id). */
  externalTaskId: string;
  ok: boolean;
  task_id?: string;
  task_status?: string;
  audios?: Array<{ url_mp3?: string | undefined; url_wav?: string | undefined }>;
  /** Where `--download` saved the files. */
  files?: string[];
  /** Why the item failed. */
  error?: { name?: string; message: string; code?: number | undefined };
}
