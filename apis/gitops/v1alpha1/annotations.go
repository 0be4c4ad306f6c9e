package v1alpha1

// SyncRequestAnnotation asks for a sync of an Application now: a new value
// syncs it once, even without automated sync, and is then recorded in
// status.lastHandledSyncRequest (kubectl sluice app sync sets it; a Flux
// Kustomization's reconcile.fluxcd.io/requestedAt is read as it).
const SyncRequestAnnotation = "gitops.sluice.dev/requested-at"
