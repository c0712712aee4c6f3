// `npm run mock`: serves the spec with Prism on 127.0.0.1:4010 (CORS on) until Ctrl-C.
import { parseArgs } from "node:util";
import { startPrism } from "./prism.js";

const { values } = parseArgs({ options: { port: { type: "string", default: "4010" }, host: { type: "string", default: "127.0.0.1" } } });
const prism = await startPrism({ port: Number(values.port), host: values.host });
console.log(`Kling Video-to-Audio mock on ${prism.url} (any bearer token works; Ctrl-C stops it)`);
const stop = () => void prism.close().then(() => process.exit(0));
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
