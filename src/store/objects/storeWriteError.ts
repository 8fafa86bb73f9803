import { StoreError } from "../../errors.js";
import type { Store } from "../Store.js";

/** Turns errno failures of a blob write into StoreErrors that name the store. */
export function storeWriteError(store: Store, label: string, err: unknown): unknown {
	const code = (err as NodeJS.ErrnoException)?.code;
	if (code === "ENOSPC" || code === "EDQUOT") {
		return new StoreError("STORE_NO_SPACE", `no space left in the store ${store.dir} while writing ${label}`, {
			cause: err,
			hint: "free space (`modelfs gc`, `modelfs rm`) or grow the volume; nothing partial was kept",
		});
	}
	if (code === "EROFS") {
		return new StoreError("STORE_READ_ONLY", `the store ${store.dir} is on a read-only filesystem (writing ${label})`, { cause: err });
	}
	return err;
}
