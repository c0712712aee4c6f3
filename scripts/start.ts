// `npm start`: the main job. A real video-to-audio run through the SDK against an embedded Prism mock (or the real API
// when a key is set).
import { parseArgs } from "node:util";
import { BASE_URLS, createClient, KlingError, type Task } from "../src/index.js";
import { readEnv } from "../src/options.js";

const { values } = parseArgs({
  options: {
    "video-url": { type: "string" },
    "bgm-prompt": { type: "string", default: "slow ambient piano" },
    "sound-effect-prompt": { type: "string", default: "rain on a tin roof, distant traffic" },
  },
});
const apiKey = readEnv("KLING_V2A_API_KEY") ?? readEnv("DEERAPI_KEY");
const configuredBaseUrl = readEnv("KLING_V2A_BASE_URL");
const useRealApi = Boolean(apiKey) && !configuredBaseUrl;

let stopMock = async () => {};
let baseUrl = configuredBaseUrl;
if (useRealApi) {
  if (!values["video-url"]) {
    console.error(
      "An API key is set, so `npm start` would use the real API: pass the video with `npm start -- --video-url " +
        "https://…/clip.mp4`.",
    );
    process.exit(2);
  }
  baseUrl = BASE_URLS.deerapi;
  console.log(
    `An API key is set: this run uses the real API at ${baseUrl} and is billed. Ctrl-C in the next 5 s to stop.`,
  );
  await new Promise((resolve) => setTimeout(resolve, 5000));
} else if (!baseUrl) {
  const { startMock } = await import("../mocks/lifecycle.js");
  const mock = await startMock({ submittedMs: 1000, processingMs: 2000, log: () => {} });
  baseUrl = mock.url;
  stopMock = () => mock.close();
  console.log(`No API key set: using the embedded Prism mock of the Kling Video-to-Audio API on ${baseUrl}`);
}

const started = Date.now();
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)}s`;
try {
  const kling = createClient({ baseUrl, apiKey: apiKey ?? "mock-key" });
  const task: Task = await kling.run(
    {
      video_url: values["video-url"] ?? "https://example.com/videos/rainy-street.mp4",
      sound_effect_prompt: values["sound-effect-prompt"],
      bgm_prompt: values["bgm-prompt"],
    },
    { timeoutMs: 600_000, onProgress: (t) => console.log(`[${elapsed()}] task ${t.task_id}: ${t.task_status}`) },
  );
  for (const audio of task.task_result?.audios ?? []) {
    console.log(`audio mp3: ${audio.url_mp3}\naudio wav: ${audio.url_wav}`);
  }
  console.log(`done in ${elapsed()}; result files are deleted 30 days after the task was created`);
} catch (error) {
  console.error(error instanceof KlingError ? `${error.name}: ${error.message}` : error);
  process.exitCode = 1;
} finally {
  await stopMock();
}
