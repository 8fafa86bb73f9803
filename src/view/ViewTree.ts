/**
 * The tree a view shows, built by a layout (src/view/buildViewTree.ts) from
 * the catalog and serialised for the daemon by src/view/writeViewImage.ts.
 * The root is a ViewDir named "".
 */
export type ViewNode = ViewDir | ViewFile | ViewSymlink;

export interface ViewDir {
	kind: "dir";
	name: string;
	children: ViewNode[];
}

export interface ViewFile {
	kind: "file";
	name: string;
	size: number;
	/** BLAKE3 hex of the blob; the daemon opens objects/<2 hex>/<64 hex>. */
	blake3: string;
}

export interface ViewSymlink {
	kind: "symlink";
	name: string;
	/** Relative target, e.g. ../../blobs/<etag>. */
	target: string;
}
