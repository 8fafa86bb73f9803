/**
 * The parts of modelfs and the arrows between them (ARCHITECTURE.md).
 * Data flows one way: source -> ingest -> store -> view -> daemon -> overlay,
 * and the CLI sits on top: cli -> commands -> node/demo -> config, overlay,
 * metrics -> mount -> view, ingest -> store -> hash -> system, progress, errors.
 * `npm test` runs this check (npm run lint:boundaries); a forbidden arrow fails it.
 */
const part = (name) => `^src/${name}(/|\\.ts$)`;
const parts = (...names) => `^src/(${names.join("|")})(/|\\.ts$)`;

/** [from, [forbidden targets], why] */
const layers = [
	["store", ["ingest", "view", "mount", "overlay", "node", "config", "commands", "demo", "metrics", "emulator", "cli"], "the store knows nothing of who writes or reads it"],
	["hash", ["store", "ingest", "view", "mount", "overlay", "node", "config", "commands", "demo", "metrics", "emulator", "cli"], "hashing is a leaf: it serves the store and ingest"],
	["view", ["ingest", "mount", "overlay", "node", "config", "commands", "demo", "metrics", "emulator", "cli"], "a view is built from the catalog alone; it never reads ingest"],
	["ingest", ["view", "mount", "overlay", "node", "config", "commands", "demo", "metrics", "emulator", "cli"], "ingest only fills the store"],
	["mount", ["ingest", "overlay", "node", "config", "commands", "demo", "metrics", "emulator", "cli"], "mount runs the daemon for a view; orchestration lives above it"],
	["overlay", ["ingest/hub", "ingest/http", "mount", "node", "config", "commands", "demo", "metrics", "emulator", "cli"], "the overlay stands on a view; it does not start one"],
	["config", ["ingest", "mount", "overlay", "node", "commands", "demo", "metrics", "emulator", "cli"], "config only reads and checks the config file"],
	["metrics", ["ingest", "overlay", "node", "config", "commands", "demo", "emulator", "cli"], "metrics report on mounts; they start nothing"],
	["node", ["commands", "demo", "emulator", "cli"], "node orchestration is called by commands, never the other way"],
	["demo", ["commands", "node", "cli"], "the demo is a library function the demo command calls"],
	["commands", ["cli", "emulator"], "commands are registered by cli.ts"],
	["system", ["store", "hash", "ingest", "view", "mount", "overlay", "node", "config", "commands", "demo", "metrics", "emulator", "progress", "cli"], "OS helpers depend on nothing of modelfs"],
	["progress", ["store", "hash", "ingest", "view", "mount", "overlay", "node", "config", "commands", "demo", "metrics", "emulator", "system", "cli"], "progress bars depend on nothing of modelfs"],
	["errors", ["store", "hash", "ingest", "view", "mount", "overlay", "node", "config", "commands", "demo", "metrics", "emulator", "system", "progress", "cli"], "errors.ts is imported by everything and imports nothing"],
];

module.exports = {
	forbidden: [
		{ name: "no-circular", severity: "error", comment: "an import cycle makes the order of the parts unreadable", from: {}, to: { circular: true } },
		...layers.map(([from, to, why]) => ({
			name: `${from.replace("/", "-")}-goes-down`,
			severity: "error",
			comment: why,
			from: { path: part(from) },
			to: { path: parts(...to) },
		})),
		{
			name: "ingest-http-is-transport",
			severity: "error",
			comment: "the HTTP client knows nothing of the hub, local imports or the store",
			from: { path: part("ingest/http") },
			to: { path: parts("ingest/hub", "ingest/local", "store") },
		},
		{
			name: "ingest-local-is-local",
			severity: "error",
			comment: "local imports never speak HTTP",
			from: { path: part("ingest/local") },
			to: { path: parts("ingest/hub", "ingest/http") },
		},
		{
			name: "commands-are-independent",
			severity: "error",
			comment: "one file per command; shared logic lives in the parts below",
			from: { path: "^src/commands/([^/]+)\\.ts$" },
			to: { path: "^src/commands/", pathNot: "^src/commands/$1\\.ts$" },
		},
		{
			name: "only-the-store-writes-the-store",
			severity: "error",
			comment: "blob installs, temp names, the LMDB env and catalog publishing are the store's own; others call its API (putFile, createBlobWriter, commitSnapshot, ...)",
			from: { path: "^src/", pathNot: "^src/store/" },
			to: {
				path: "^src/store/(objects/(installBlob|tmpName|fsyncDir|storeWriteError|directWritesFit|checkExpectation)|index/(StoreIndex|indexTransaction)|catalog/(publishCatalog|buildCatalog)|storeFormat|acquireWriterLock)\\.ts$",
			},
		},
		{ name: "lmdb-in-the-index", severity: "error", comment: "only src/store/index/ opens LMDB", from: { path: "^src/", pathNot: "^src/store/index/" }, to: { path: "node_modules/lmdb/" } },
		{ name: "hub-library-in-the-hub-client", severity: "error", comment: "only src/ingest/hub/ speaks to the hub API", from: { path: "^src/", pathNot: "^src/ingest/hub/" }, to: { path: "node_modules/@huggingface/hub/" } },
		{ name: "undici-in-the-transport", severity: "error", comment: "only src/ingest/http/ sets up proxies", from: { path: "^src/", pathNot: "^src/ingest/http/" }, to: { path: "node_modules/undici/" } },
		{ name: "commander-in-the-cli", severity: "error", comment: "argument parsing stays in cli.ts and src/commands/", from: { path: "^src/", pathNot: "^src/(cli\\.ts|commands/)" }, to: { path: "node_modules/commander/" } },
		{ name: "fuse-native-is-a-baseline", severity: "error", comment: "fuse-native is only the bench's baseline; modelfs speaks FUSE in native/", from: { path: "^src/" }, to: { path: "node_modules/fuse-native/" } },
		{ name: "src-stands-alone", severity: "error", comment: "shipped code never imports tests or benches", from: { path: "^src/" }, to: { path: "^(test|bench)/" } },
		{ name: "emulator-for-demo-and-tests", severity: "error", comment: "the hub emulator serves the demo and the tests, never a real command path", from: { path: "^src/", pathNot: "^src/(demo|emulator)/" }, to: { path: "^src/emulator/" } },
	],
	options: {
		doNotFollow: { path: "node_modules" },
		tsConfig: { fileName: "tsconfig.json" },
		tsPreCompilationDeps: true,
		enhancedResolveOptions: { exportsFields: ["exports"], conditionNames: ["import", "require", "node", "default"] },
	},
};
