// The journey suite's index: each user-facing promise of README.md and the journey (file › test) that checks it
// through the packed, installed package. How it runs: CONTRIBUTING.md, "Journey tests".
//
// Everything below runs against `npm pack` of a fresh copy of the sources (prepack builds it), installed with npm into
// consumer folders under the OS temp dir (test/support/journey-package.ts; the Prism peers are installed once per
// machine and linked in), and `kling-v2a mock` started from that install's node_modules/.bin.
//
// Top and Install
//   "npm i kling-video-to-audio"; only runtime dependency openapi-fetch  package.test › brings in openapi-fetch and
// nothing else
//   ESM import works; CommonJS require() works (Node >= 20.19)         exports › imports / requires every module entry
// by name;
//                                                                       import and require give the same module objects
//   `kling-v2a mock` needs the optional Prism peers                     cli › without the optional Prism peers, says
// which packages
//                                                                       to install and exits 2; the other commands work
// without Prism
// Quick start
//   createClient + run(..., { onProgress, timeoutMs }) → url_mp3       sdk › run() with a key, onProgress and timeoutMs
//   against the mock no key is needed (api.md: any loopback baseUrl)   sdk › createClient against the mock with NO key
// [fails today]
// The client
//   apiKey / baseUrl from KLING_V2A_API_KEY / KLING_V2A_BASE_URL        sdk › reads the key and the server from the
// environment
//   accessKey + secretKey: an HS256 JWT, iss = access key, 30 min      sdk › Kling's access key + secret key
//   BASE_URLS values                                                    exports › BASE_URLS holds the four servers
//   createTask, getTask, listTasks, tasks(), findTaskByExternalId,
//   waitForTask, run, raw                                               sdk › createTask, getTask, waitForTask,
// listTasks, ...
//   input checks: KlingValidationError with field, nothing sent        sdk › bad input: KlingValidationError naming the
// field
//   errors are KlingError subclasses with stable names                  exports › the names the README promises
// (import, require)
//   KlingApiError with code and request id (1203 unknown task)          sdk › an unknown task id
//   failed → KlingTaskFailedError with task_status_msg                  sdk › a task that fails
//   deadline → KlingTimeoutError (taskId, lastStatus); wait again       sdk › a wait that runs out
//   an AbortSignal interrupts a wait at once                            sdk › an AbortSignal stops a wait at once
//   no secret in errors, JSON.stringify, inspect, debug log lines       sdk › no secret in any error ... nor in a debug
// log line
//   logLevel "debug": one line per attempt                              sdk › (same test: "POST
// /v1/audio/video-to-audio attempt 1/")
// Callbacks
//   the node:http endpoint with verifyCallback over the raw body;
//   signCallback for tests; reasons invalid_signature,
//   timestamp_out_of_tolerance, missing_headers, invalid_json,
//   parsed_body; the console's {id, status: "succeeded"} dialect;
//   any task_status string passes                                       server › callbacks: accepts a signed delivery,
// refuses ...
// The CLI
//   npx kling-v2a, node_modules/.bin/kling-v2a, a global install       cli › --version; npx kling-v2a runs the
// installed bin;
//                                                                       a global install (npm i -g) runs the CLI
//   --help, --version, usage errors exit 2                              cli › --help ...; usage errors exit 2; with no
// command ...
//   a local mock needs no key; a real server does                       cli › run --json with no key; a real server
// needs a key
//   run / create (prints the wait command) / get / wait / list          cli › run --json ...; run for people; create
// returns at once ...
//   --json prints exactly one JSON document, { error } on failure        cli › run --json ...; an unknown task id exits
// 3; a task that fails
//   exit codes 0, 1 (failed), 2 (usage), 3 (API/connection), 4 (timeout,
//   the message says how to keep waiting)                               cli › ... exits 3 with code 1203; a task that
// fails exits 1;
//                                                                       --timeout too short exits 4; a server that is
// not there exits 3
//   no secret in the CLI's output                                        cli › the API key never appears in the output
//   Ctrl-C stops waiting; the task keeps running and `kling-v2a wait`
//   picks it up (api.md: exit 130, the task id printed)                 cli › Ctrl-C stops waiting ...  [fails today:
// exit 3, no id]
//   --download DIR → DIR/<task_id>.mp3 and .wav                         cli › --download DIR saves ...  [fails today:
// the mock's fake CDN]
// Production: batches
//   runBatch: concurrency, per-item typed failures, externalTaskId on
//   every result, a rerun with the batchId creates nothing              sdk › runBatch ...  [fails today: an invalid
// item's externalTaskId is ""]
//   kling-v2a batch FILE: URL list with # comments or JSONL; results
//   appended to FILE.results.jsonl; exit 1 if any item failed, else 0;
//   running it again resumes without creating again                     cli › a URL list ...; a JSONL file of create
// bodies
// Production: the proxy
//   createProxy + toNodeHandler mounted under /api/kling; the browser
//   client with no key                                                  server › the SDK with no key, through the
// proxy, runs a task
//   drops the caller's Authorization and cookies, sends the server's
//   credentials; the key never reaches the browser                      server › sends the server's key upstream, never
// the browser's ...
//   a bad create body: 400 code 1201, not forwarded                     server › a bad create body ...
//   another path: 404 code 1202; authorize false: 401 code 1000         server › any other path ...; a refused
// authorize ...
// The mock
//   --port 0, 127.0.0.1, the start-up hint; --verbose; Ctrl-C stops it  mock › kling-v2a mock --verbose (3 tests)
//   --submitted-ms / --processing-ms; tasks move submitted → processing
//   → succeed, with their own id, external_task_id, video, created_at   mock › a created task is yours ...
//   "fail" in the input → failed with task_status_msg                    mock › a task whose input says 'fail'
//   unknown ids (the example's too) → 404 code 1203                      mock › an unknown id ...
//   the list: created tasks, newest first, paginated                     mock › the list returns ...
//   Prism checks bodies: Kling-shaped 400 (1201), not remembered         mock › a body that breaks the spec ...
//   Prefer example= / code= and the ?__example= query form win           mock › Prefer always wins (3 tests)
//   CORS on, any header allowed                                          mock › CORS is on ...
//   --no-lifecycle: plain Prism, static examples                         mock › kling-v2a mock --no-lifecycle
// Preflight (docs/preflight.md)
//   checkVideo from /preflight with mediabunny installed: each rule's
//   verdict (format, size, duration, video; resolution and unreachable
//   warnings), within its bytes; a local file                           preflight › gives each case its verdict ...
//   kling-v2a check: a line per video, exit 1 when any is refused       preflight › kling-v2a check prints a line ...
//   without mediabunny the import works; checkVideo and check say the
//   install line (check exits 2)                                      preflight › imports, and checkVideo rejects ...
// The spec for other languages
//   the three files in the package; resolve them by name with
//   import.meta.resolve / require.resolve; node_modules/.../openapi/    exports › resolves every file entry ...; the
// spec files sit where
//                                                                       the README says; package.test › holds the code
// ... three spec files
//
// Not journeys here, on purpose: `npm start` and `npm run mock` run from the repository, not from an install; the
// runtime matrix (Bun, Deno, Chromium, workerd) is `npm run test:runtimes`; "createClient throws in a web page when
// given a
// key" needs a browser (the runtime matrix's Chromium rows); `startMock` in tests is imported from mocks/lifecycle.ts
// in
// the README today; once `./mock` is in the exports map, exports › imports / requires every module entry covers it.
export {};
