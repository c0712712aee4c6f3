// A throwaway redis-server (Debian's) on a free port, no persistence, stopped by its PID: for the BullMQ suites.
import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";

export interface RedisServer {
  port: number;
  url: string;
  pid: number;
  stop(): Promise<void>;
}

/** A port nobody listens on right now (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Starts redis-server and resolves once it accepts connections; throws with its output if it cannot start. */
export async function startRedis(binary = process.env.REDIS_SERVER ?? "redis-server"): Promise<RedisServer> {
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    try {
      return await launch(binary, port);
    } catch (error) {
      // Another process may have taken the port between freePort and the bind: try a new one.
      if (attempt >= 3 || !String(error).includes("Address already in use")) throw error;
    }
  }
}

function launch(binary: string, port: number): Promise<RedisServer> {
  const child: ChildProcess = spawn(
    binary,
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (/Ready to accept connections/i.test(output)) {
        child.stdout?.off("data", onData);
        child.stdout?.resume();
        resolve({ port, url: `redis://127.0.0.1:${port}`, pid: child.pid!, stop: () => stop(child) });
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.once("error", (error) =>
      reject(new Error(`cannot start ${binary}: ${error.message} (install it: apt-get install -y redis-server)`)),
    );
    child.once("exit", (code) => reject(new Error(`${binary} exited (${code}) before it was ready:\n${output}`)));
  });
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once("exit", () => resolve());
    child.kill("SIGTERM");
  });
}
