import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { onTestFinished } from "vitest";

const script = fileURLToPath(new URL("./storeChild.ts", import.meta.url));

/** Starts test/store/storeChild.ts; killed (by pid) when the test ends if still running. */
export function startChild(args: string[]): { child: ChildProcess; stdout: Promise<string>; exit: Promise<number | null>; line: Promise<string> } {
	const child = spawn(process.execPath, ["--import", "tsx", script, ...args], { stdio: ["pipe", "pipe", "pipe"] });
	onTestFinished(() => {
		if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
	});
	let out = "";
	let err = "";
	let resolveLine: (s: string) => void = () => undefined;
	const line = new Promise<string>((r) => (resolveLine = r));
	child.stdout!.setEncoding("utf8").on("data", (d: string) => {
		out += d;
		if (out.includes("\n")) resolveLine(out.split("\n")[0]);
	});
	child.stderr!.setEncoding("utf8").on("data", (d: string) => (err += d));
	const exit = new Promise<number | null>((r) => child.on("close", (code) => r(code)));
	const stdout = exit.then((code) => {
		if (code !== 0) throw new Error(`child ${args.join(" ")} exited ${code}: ${err}`);
		return out;
	});
	return { child, stdout, exit, line };
}
