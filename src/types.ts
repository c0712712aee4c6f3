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
