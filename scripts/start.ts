// `npm start`: the main job. A real video-to-audio run through the SDK against an embedded Prism mock (or the real API when a key is set).
import { createRawClient } from "../src/raw.js";
import { startPrism } from "../mocks/prism.js";

const prism = await startPrism();
try {
  console.log(`Prism mock of the Kling Video-to-Audio API listening on ${prism.url}`);
  const raw = createRawClient({ baseUrl: prism.url, apiKey: "mock-key" });
  const created = await raw.POST("/v1/audio/video-to-audio", {
    body: { video_url: "https://example.com/videos/rainy-street.mp4", sound_effect_prompt: "rain on a tin roof", bgm_prompt: "slow ambient piano" },
  });
  const taskId = created.data?.data?.task_id;
  if (!taskId) throw new Error(`create failed: HTTP ${created.response.status}`);
  console.log(`created task ${taskId} (${created.data?.data?.task_status})`);
  const got = await raw.GET("/v1/audio/video-to-audio/{task_id}", {
    params: { path: { task_id: taskId } },
    headers: { Prefer: "example=succeed" },
  });
  const task = got.data?.data;
  console.log(`task ${task?.task_id}: ${task?.task_status}`);
  for (const audio of task?.task_result?.audios ?? []) {
    console.log(`audio mp3: ${audio.url_mp3}\naudio wav: ${audio.url_wav}`);
  }
} finally {
  await prism.close();
}
