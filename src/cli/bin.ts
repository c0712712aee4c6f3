#!/usr/bin/env node
// The `kling-v2a` executable that package.json's `bin` points at: runs the CLI. It is a file of its own so that
// npm's bin symlink (node_modules/.bin/kling-v2a), npx and global installs run it whatever argv[1] is called,
// while main.ts stays importable without side effects.
import { main } from "./main.js";

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
