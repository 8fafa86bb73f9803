import { UsageError } from "../errors.js";
import type { CatalogRepo, SnapshotFile } from "../store/StoreTypes.js";
import { catalogSegments } from "./catalogSegments.js";
import { newestSnapshot } from "./newestSnapshot.js";
import { repoFolderName } from "./repoFolderName.js";
import { skipUnshowable } from "./skipUnshowable.js";
import { splitViewPath } from "./splitViewPath.js";
import type { ViewSkip } from "./ViewTree.js";
import type { ViewTreeBuilder } from "./ViewTreeBuilder.js";

export interface TemplateLayoutParams {
	/** The repos to show (already filtered). */
	repos: readonly CatalogRepo[];
	/** Where the nodes go. */
	builder: ViewTreeBuilder;
	/** Segments of the view prefix. */
	prefix: readonly string[];
	/** The path template, e.g. `{org}/{name}/{revision}/{path}`. See TEMPLATE_PLACEHOLDERS. */
	template: string;
	/** Told of every entry the view cannot show (and leaves out). */
	/** Whether the file at this repo path is one the daemon reads ahead on open. */
	prefetch: (path: string) => boolean;
	onSkip: (skip: ViewSkip) => void;
}

/** The placeholders a `--template` may use, with what each expands to (README text). */
export const TEMPLATE_PLACEHOLDERS: Readonly<Record<string, string>> = {
	repo: "the repo id, `org/name` (or `name`)",
	org: "the part of the repo id before `/` (empty for a repo without org: the empty folder level is dropped)",
	name: "the part of the repo id after `/`",
	type: "`model` or `dataset`",
	types: "`models` or `datasets`",
	folder: "the hub cache folder name, `models--org--name`",
	revision: "a ref name (`main`, a tag, `pr/1`); the template is expanded once per ref",
	commit: "the commit sha of the revision; without {revision}, once per stored snapshot",
	path: "the file's path inside the repo (may contain `/`)",
	etag: "the hub's name of the file's blob (LFS sha256 or git sha1)",
	blake3: "the store's BLAKE3 key of the file",
};

const FILE_PLACEHOLDERS = ["path", "etag", "blake3"];

/**
 * A custom layout: every file of the chosen revisions appears as a regular
 * file at the template expanded for it. Which revisions: one per ref when the
 * template uses {revision}; one per stored snapshot when it uses {commit}
 * but not {revision}; otherwise only the newest one (like `flat`). Empty
 * segments after expansion are dropped, so `{org}/{name}` works for repos
 * without an org.
 */
export function templateLayout(params: TemplateLayoutParams): void {
	const { builder, prefix, template } = params;
	const used = parseTemplate(template);
	for (const repo of params.repos) {
		const label = `${repo.type === "dataset" ? "datasets/" : ""}${repo.name}`;
		let ok = false;
		skipUnshowable({
			at: { repo: label },
			onSkip: params.onSkip,
			add: () => {
				catalogSegments({ value: repo.name, what: "repo name" });
				ok = true;
			},
		});
		if (!ok) continue;
		const slash = repo.name.indexOf("/");
		const base: Record<string, string> = {
			repo: repo.name,
			org: slash < 0 ? "" : repo.name.slice(0, slash),
			name: slash < 0 ? repo.name : repo.name.slice(slash + 1),
			type: repo.type,
			types: repo.type === "dataset" ? "datasets" : "models",
			folder: repoFolderName({ type: repo.type, name: repo.name }),
		};
		for (const { revision, snapshot } of revisionsFor(repo, used)) {
			const where = `${repo.name}@${snapshot.commit}`;
			let names = false;
			skipUnshowable({
				at: { repo: label, commit: snapshot.commit },
				onSkip: params.onSkip,
				add: () => {
					catalogSegments({ value: snapshot.commit, what: `commit of ${repo.name}`, nested: false });
					if (revision !== null) catalogSegments({ value: revision, what: `ref name of ${repo.name}` });
					names = true;
				},
			});
			if (!names) continue;
			for (const file of snapshot.files) {
				skipUnshowable({
					at: { repo: label, commit: snapshot.commit, path: file.path },
					onSkip: params.onSkip,
					add: () => {
						catalogSegments({ value: file.path, what: `file path in ${where}` });
						catalogSegments({ value: file.etag, what: `etag of ${where}:${file.path}`, nested: false });
						const values = { ...base, revision: revision ?? snapshot.commit, commit: snapshot.commit, path: file.path, etag: file.etag, blake3: file.blake3 };
						const segments = splitViewPath({ path: expand(template, values), what: `--template expanded for ${where}:${file.path}`, code: "VIEW_BAD_TEMPLATE" });
						builder.addLeaf([...prefix, ...segments], { ...fileNode(segments[segments.length - 1], file), prefetch: params.prefetch(file.path) });
					},
				});
			}
		}
	}
}

function fileNode(name: string, file: SnapshotFile) {
	return { kind: "file" as const, name, size: file.size, blake3: file.blake3 };
}

/** Checks the template once, up front, and returns the placeholders it uses. */
function parseTemplate(template: string): Set<string> {
	if (typeof template !== "string" || template.trim() === "") {
		throw new UsageError("VIEW_BAD_TEMPLATE", "the template layout needs --template, e.g. {org}/{name}/{revision}/{path}", {
			hint: `placeholders: ${Object.keys(TEMPLATE_PLACEHOLDERS)
				.map((k) => `{${k}}`)
				.join(" ")}`,
		});
	}
	const used = new Set<string>();
	for (const m of template.matchAll(/\{([^{}]*)\}/g)) {
		if (!(m[1] in TEMPLATE_PLACEHOLDERS)) {
			throw new UsageError("VIEW_BAD_TEMPLATE", `--template ${JSON.stringify(template)} uses an unknown placeholder {${m[1]}}`, {
				hint: `placeholders: ${Object.keys(TEMPLATE_PLACEHOLDERS)
					.map((k) => `{${k}}`)
					.join(" ")}`,
			});
		}
		used.add(m[1]);
	}
	const stray = template.replace(/\{[^{}]*\}/g, "");
	if (stray.includes("{") || stray.includes("}")) {
		throw new UsageError("VIEW_BAD_TEMPLATE", `--template ${JSON.stringify(template)} has an unmatched brace`, { hint: "placeholders are written {name}" });
	}
	if (!FILE_PLACEHOLDERS.some((p) => used.has(p))) {
		throw new UsageError("VIEW_BAD_TEMPLATE", `--template ${JSON.stringify(template)} names no file: every file of a revision would land on the same path`, {
			hint: "end the template with {path} (or use {etag} / {blake3}), e.g. {org}/{name}/{revision}/{path}",
		});
	}
	// Literal parts must not climb out of the view: check with harmless values.
	splitViewPath({ path: template.replace(/\{[^{}]*\}/g, "x"), what: "--template", code: "VIEW_BAD_TEMPLATE" });
	return used;
}

function revisionsFor(repo: CatalogRepo, used: Set<string>): Array<{ revision: string | null; snapshot: CatalogRepo["snapshots"][number] }> {
	const byCommit = new Map(repo.snapshots.map((s) => [s.commit, s]));
	if (used.has("revision")) {
		return Object.entries(repo.refs)
			.filter(([, commit]) => byCommit.has(commit))
			.map(([ref, commit]) => ({ revision: ref, snapshot: byCommit.get(commit)! }));
	}
	if (used.has("commit")) return repo.snapshots.map((snapshot) => ({ revision: null, snapshot }));
	const newest = newestSnapshot({ repo });
	return newest === null ? [] : [{ revision: newest.ref, snapshot: newest.snapshot }];
}

function expand(template: string, values: Record<string, string>): string {
	return template.replace(/\{([^{}]*)\}/g, (_, key: string) => values[key]);
}
