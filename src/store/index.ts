/**
 * The store: content-addressed blobs under objects/, the LMDB index, and the
 * published catalog. Writers: openStore({ write: true }) (single writer lock),
 * then putFile / createBlobWriter for blobs, commitSnapshot to make a snapshot
 * visible, removeSnapshot, collectGarbage, verifyStore. Readers (views, read-
 * only nodes): readCatalog, listRepos, resolveSnapshot, storeUsage.
 */
export type * from "./StoreTypes.js";
export { Store } from "./Store.js";
export type { BlobWriter } from "./BlobWriter.js";
export { resolveStoreDir, type ResolveStoreDirParams } from "./resolveStoreDir.js";
export { openStore, type OpenStoreParams } from "./openStore.js";
export { blobPath } from "./blobPath.js";
export { findBlob, type FindBlobParams } from "./findBlob.js";
export { createBlobWriter, type CreateBlobWriterParams } from "./createBlobWriter.js";
export { putFile, type PutFileParams } from "./putFile.js";
export { commitSnapshot, type CommitSnapshotParams } from "./commitSnapshot.js";
export { removeSnapshot, type RemoveSnapshotParams } from "./removeSnapshot.js";
export { readCatalog, type ReadCatalogParams } from "./readCatalog.js";
export { publishCatalog } from "./publishCatalog.js";
export { validateSnapshot } from "./validateSnapshot.js";
export { validateRepoId } from "./validateRepoId.js";
export { validateRevision } from "./validateRevision.js";
export { isSafeRelativePath } from "./isSafeRelativePath.js";
export { listCatalogGenerations } from "./listCatalogGenerations.js";
export { findCatalogRepo } from "./findCatalogRepo.js";
export { STORE_FORMAT, STORE_PATHS } from "./storeFormat.js";
export { listRepos, type ListReposParams, type RepoSummary } from "./listRepos.js";
export { resolveSnapshot, type ResolveSnapshotParams, type ResolvedSnapshot } from "./resolveSnapshot.js";
export { parseRepoSpec } from "./parseRepoSpec.js";
export { collectGarbage, type CollectGarbageParams, type GarbageReport } from "./collectGarbage.js";
export { verifyStore, type VerifyStoreParams, type VerifyReport, type BlobProblem } from "./verifyStore.js";
export { storeUsage, type StoreUsageParams, type StoreUsage } from "./storeUsage.js";
export { listObjects, type ObjectEntry } from "./listObjects.js";
export { removeBlobs, type RemoveBlobsParams } from "./removeBlobs.js";
export { isNetworkFilesystem } from "./isNetworkFilesystem.js";
