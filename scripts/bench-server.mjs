// The loopback server for `npm run bench` (scripts/bench.ts forks it, so its CPU is not on the client's event loop).
// Answers GET /v1/audio/video-to-audio/{task_id} with a ~1 kB succeed envelope over keep-alive; reports its port over
// IPC.
import { createServer } from "node:http";

const PREFIX = "/v1/audio/video-to-audio/";

function envelope(taskId) {
  return JSON.stringify({
    code: 0,
    message: "SUCCEED",
    request_id: "9ab376fc-9059-487f-9e2a-c9c89f1a344f",
    data: {
      task_id: taskId,
      task_status: "succeed",
      task_status_msg: "",
      created_at: 1764024357708,
      updated_at: 1764024390000,
      final_unit_deduction: "0.25",
      task_info: {
        external_task_id: "job-2026-11-24-0001",
        parent_video: { id: "", url: "https://example.com/videos/rainy-street.mp4", duration: "7.0" },
      },
      task_result: {
        videos: [
          { id: "866889812345671234", url: `https://cdn.klingai.example/v2a/${taskId}/merged.mp4`, duration: "7.0" },
        ],
        audios: [
          {
            id: "866889812345671235",
            url_mp3: `https://cdn.klingai.example/v2a/${taskId}/audio.mp3`,
            url_wav: `https://cdn.klingai.example/v2a/${taskId}/audio.wav`,
            duration_mp3: "7.042",
            duration_wav: "7.000",
          },
          {
            id: "866889812345671236",
            url_mp3: `https://cdn.klingai.example/v2a/${taskId}/audio-2.mp3`,
            url_wav: `https://cdn.klingai.example/v2a/${taskId}/audio-2.wav`,
            duration_mp3: "7.042",
            duration_wav: "7.000",
          },
        ],
      },
    },
  });
}

// One body per task id, built once: the server should cost the same for every client.
const bodies = new Map();
function bodyFor(taskId) {
  let body = bodies.get(taskId);
  if (!body) {
    body = Buffer.from(envelope(taskId));
    if (bodies.size < 1000) bodies.set(taskId, body);
  }
  return body;
}

const notFound = Buffer.from(JSON.stringify({ code: 1203, message: "task not found", request_id: "bench" }));

const server = createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
  const path = req.url?.split("?")[0] ?? "";
  if (
    req.method === "GET" &&
    path.startsWith(PREFIX) &&
    path.length > PREFIX.length &&
    !path.includes("/", PREFIX.length)
  ) {
    const body = bodyFor(decodeURIComponent(path.slice(PREFIX.length)));
    res.writeHead(200, { "content-type": "application/json", "content-length": body.length });
    res.end(body);
    return;
  }
  res.writeHead(404, { "content-type": "application/json", "content-length": notFound.length });
  res.end(notFound);
});
server.headersTimeout = 0;
server.requestTimeout = 0;

server.listen(0, "127.0.0.1", () => {
  const { port } = server.address();
  const bytes = bodyFor("866889456698785798").length;
  if (process.send) process.send({ port, bytes });
  else console.log(`listening on http://127.0.0.1:${port} (${bytes} B envelope)`);
});

// Exit with the parent: on its message, on a closed IPC channel, or on a signal.
process.on("message", (message) => {
  if (message === "stop") server.close(() => process.exit(0));
});
process.on("disconnect", () => process.exit(0));
process.on("SIGTERM", () => process.exit(0));
