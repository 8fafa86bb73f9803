import { join } from "node:path";
import { serveMetrics } from "../metrics/serveMetrics.js";
import { startMetricsProcess } from "../metrics/startMetricsProcess.js";
import { type StartedMount, startMount } from "../mount/startMount.js";
import { readCatalog } from "../store/catalog/readCatalog.js";
import { republishIfBehind } from "../store/catalog/republishIfBehind.js";
import { readStoreFormat } from "../store/readStoreFormat.js";
import type { Catalog } from "../store/StoreTypes.js";
import { buildViewTree, type ViewLayout } from "../view/buildViewTree.js";
import type { ViewSkip } from "../view/ViewTree.js";

export interface MountStoreViewParams {
	/** The store the view shows. */
	storeDir: string;
	/** An existing empty folder. */
	mountpoint: string;
	/** @default "hf" */
	layout?: ViewLayout;
	/** Folders the view sits under, e.g. `huggingface/hub`. @default "" */
	prefix?: string;
	/** hf layout: regular files instead of symlinks. @default false */
	files?: boolean;
	/** template layout only. */
	template?: string;
	/** Only these repos. @default every repo */
	repos?: string[];
	/** The config's name for the view, recorded for `modelfs status`. @default none */
	name?: string;
	/** @default true */
	passthrough?: boolean;
	/** Patterns of the files the daemon reads ahead when opened (matchesPrefetch), recorded so a refresh keeps them. @default none */
	prefetch?: readonly string[];
	/** Mount over a folder that holds files. @default false */
	nonempty?: boolean;
	/** Stay attached (see StartMountParams.foreground). @default false */
	foreground?: boolean;
	/** @default 4 */
	threads?: number;
	/** Serve Prometheus metrics for this view on this TCP port (0: any free port). @default null (none) */
	metricsPort?: number | null;
	/** The address metrics listen on. @default "0.0.0.0" */
	metricsAddress?: string;
	/** @default $MODELFS_RUN_DIR, else /run/modelfs */
	runRoot?: string;
	/** One-line notes for stderr (an empty store, a dead mount detached). @default none */
	log?: (line: string) => void;
}

export interface MountedStoreView {
	mount: StartedMount;
	/** The catalog generation the view shows (0 for a store with none yet). */
	generation: number;
	/** The port metrics are served on, or null. */
	metricsPort: number | null;
	/** Catalog entries the view cannot show and left out (each also logged). */
	skipped: ViewSkip[];
}

/**
 * Builds a store's view from its newest published catalog (an empty view
 * when the store has none yet) and mounts it, with its metrics server when
 * asked: the one way both `modelfs mount` and `modelfs up` mount a view.
 */
export async function mountStoreView(params: MountStoreViewParams): Promise<MountedStoreView> {
	if (typeof params?.storeDir !== "string" || params.storeDir === "") throw new TypeError("mountStoreView: `storeDir` is required");
	const log = params.log ?? (() => undefined);
	// Before anything is mounted: a store of another format is never served.
	await readStoreFormat({ storeDir: params.storeDir });
	await republishIfBehind({ storeDir: params.storeDir });
	let catalog: Catalog | null = await readCatalog({ storeDir: params.storeDir });
	if (catalog === null) {
		log(`the store ${params.storeDir} has no published catalog yet: the view at ${params.mountpoint} is empty`);
		catalog = { format: 1, generation: 0, createdAt: new Date().toISOString(), repos: [] };
	}
	const layout = params.layout ?? "hf";
	const options = {
		layout,
		prefix: params.prefix ?? "",
		files: params.files === true,
		template: params.template,
		repos: params.repos ?? [],
		prefetch: [...(params.prefetch ?? [])],
	};
	const skipped: ViewSkip[] = [];
	const tree = buildViewTree({ catalog, ...options, repos: options.repos.length > 0 ? options.repos : undefined, onSkip: (s) => skipped.push(s), prefetch: options.prefetch });
	for (const s of skipped) log(`the view leaves out ${s.repo}${s.commit ? `@${s.commit}` : ""}${s.path ? `:${s.path}` : ""}: ${s.reason}`);
	const mount = await startMount({
		mountpoint: params.mountpoint,
		tree,
		storeDir: params.storeDir,
		passthrough: params.passthrough,
		nonempty: params.nonempty,
		foreground: params.foreground,
		threads: params.threads,
		view: params.name === undefined ? options : { name: params.name, ...options },
		catalogGeneration: catalog.generation,
		runRoot: params.runRoot,
		log,
	});
	const port = params.metricsPort ?? null;
	if (port === null) return { mount, generation: catalog.generation, metricsPort: null, skipped };
	if (params.foreground) {
		// In the foreground this process lives as long as the mount: it serves the port itself.
		const server = await serveMetrics({ port, host: params.metricsAddress, mountpoints: [mount.mountpoint], runRoot: params.runRoot });
		const address = server.address();
		const stop = () => server.close();
		mount.exited.then(stop, stop);
		return { mount, generation: catalog.generation, metricsPort: typeof address === "object" && address ? address.port : port, skipped };
	}
	const bound = await startMetricsProcess({
		port,
		address: params.metricsAddress,
		mountpoint: mount.mountpoint,
		holderPid: mount.holderPid,
		runtimeDir: mount.runtimeDir,
		runRoot: params.runRoot,
		logPath: join(mount.runtimeDir, "daemon.log"),
		timeoutMs: 30_000,
	});
	return { mount, generation: catalog.generation, metricsPort: bound, skipped };
}
