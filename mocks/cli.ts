// `npm run mock [-- flags]`: the lifecycle mock on 127.0.0.1:4010 until Ctrl-C; the same command as `kling-v2a mock`.
import { runMockCommand } from "./command.js";

process.exitCode = await runMockCommand(process.argv.slice(2), { prog: "npm run mock --" });
