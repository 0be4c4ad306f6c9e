package v1alpha1

// SyncRequestAnnotation asks for a sync of an Application now: a new value
// syncs it once, even without automated sync, and is then recorded in
// status.lastHandledSyncRequest (kubectl sluice app sync sets it; a Flux
// Kustomization's reconcile.fluxcd.io/requestedAt is read as it).
const SyncRequestAnnotation = "gitops.sluice.dev/requested-at"

// PruneRequestAnnotation "true" beside a new SyncRequestAnnotation makes
// that sync also prune, for an Application whose automated sync does not
// (kubectl sluice app sync --prune). It goes with the request it came
// with: a later refresh never prunes.
const PruneRequestAnnotation = "gitops.sluice.dev/requested-prune"

// RevisionRequestAnnotation names the commit a sync request asks for,
// instead of the one targetRevision names: what kubectl sluice app
// rollback sets beside a new SyncRequestAnnotation. Only a full commit SHA
// is taken.
const RevisionRequestAnnotation = "gitops.sluice.dev/requested-revision"

// RefreshRequestAnnotation asks an Application to look at Git and at every
// object now, whatever its interval; it syncs only what automated sync
// would. A push event and the dashboard's Refresh set it.
const RefreshRequestAnnotation = "gitops.sluice.dev/refresh-requested-at"
