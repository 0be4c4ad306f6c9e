package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// InClusterServer is the destination server of the cluster Sluice runs in,
// as Argo CD names it; other clusters are registered by cluster Secrets.
const InClusterServer = "https://kubernetes.default.svc"

// ApplicationSpec says which Git path to sync into the cluster, and how.
type ApplicationSpec struct {
	// Project is accepted for compatibility with Argo CD manifests and is not
	// used: access is governed by ServiceAccountName instead.
	// +optional
	Project string `json:"project,omitempty"`

	// Source is the Git repository, revision and path to render.
	Source ApplicationSource `json:"source"`

	// Destination is where the rendered objects go.
	// +optional
	Destination ApplicationDestination `json:"destination,omitempty"`

	// SyncPolicy controls automated sync, pruning and self-heal. Without
	// automated, the Application only reports drift until a sync is requested.
	// +optional
	SyncPolicy *SyncPolicy `json:"syncPolicy,omitempty"`

	// Interval is how often the source is polled for a new revision.
	// +kubebuilder:default="3m"
	// +optional
	Interval metav1.Duration `json:"interval,omitempty"`

	// Timeout bounds one fetch, render and apply.
	// +optional
	Timeout *metav1.Duration `json:"timeout,omitempty"`

	// Wait holds the Ready condition until every applied object is healthy.
	// +optional
	Wait bool `json:"wait,omitempty"`

	// Suspend stops syncing; the last applied state stays in place.
	// +optional
	Suspend bool `json:"suspend,omitempty"`

	// SecretRef names a Secret in the Application's namespace holding Git
	// credentials: username/password, bearerToken, or identity/known_hosts.
	// +optional
	SecretRef *corev1.LocalObjectReference `json:"secretRef,omitempty"`

	// Decryption decrypts the SOPS-encrypted manifests of the source at
	// render time, in memory, with the age and PGP keys of a Secret in the
	// Application's namespace: Flux's Kustomization field of the same name.
	// +optional
	Decryption *Decryption `json:"decryption,omitempty"`

	// ServiceAccountName is the account, in the Application's namespace, that
	// objects are applied as, so an Application can write only where its
	// account may.
	// +optional
	ServiceAccountName string `json:"serviceAccountName,omitempty"`

	// IgnoreDifferences names fields that never count as drift: a field
	// another controller sets (an autoscaler's replicas, an injected
	// sidecar) neither makes the Application OutOfSync nor is reverted by
	// selfHeal. A sync that happens for another reason applies Git's whole
	// object, unless syncOptions has RespectIgnoreDifferences=true.
	// +kubebuilder:validation:MaxItems=100
	// +optional
	IgnoreDifferences []ResourceIgnoreDifferences `json:"ignoreDifferences,omitempty"`

	// Webhook gives the Application a push-event path of its own,
	// POST /hooks/git/<namespace>/<name>, whose events are checked against
	// its own secret rather than the manager's shared one, so one tenant's
	// secret cannot sign events for another's repository.
	// +optional
	Webhook *ApplicationWebhook `json:"webhook,omitempty"`

	// PostBuild substitutes variables (${var}, ${var:=default}) in the
	// rendered objects, after the build, for every kind of source, as
	// Flux's Kustomization does. An object annotated
	// kustomize.toolkit.fluxcd.io/substitute: disabled is left as it is.
	// +optional
	PostBuild *PostBuild `json:"postBuild,omitempty"`

	// HealthChecks are objects outside the revision whose health also
	// counts in the Application's health, and in spec.wait; one that does
	// not exist is Missing. Flux's field of the same name.
	// +kubebuilder:validation:MaxItems=100
	// +optional
	HealthChecks []HealthCheckRef `json:"healthChecks,omitempty"`
}

// PostBuild is Flux's post-build variable substitution.
type PostBuild struct {
	// Substitute holds variables and their values; it overrides
	// SubstituteFrom. A name matches ^[_[:alpha:]][_[:alpha:][:digit:]]*$.
	// +optional
	Substitute map[string]string `json:"substitute,omitempty"`

	// SubstituteFrom names ConfigMaps and Secrets of the Application's
	// namespace whose data are variables, read as the Application's
	// service account; a later entry overrides an earlier one.
	// +kubebuilder:validation:MaxItems=64
	// +optional
	SubstituteFrom []SubstituteReference `json:"substituteFrom,omitempty"`
}

// SubstituteReference names a ConfigMap or a Secret of variables.
type SubstituteReference struct {
	// Kind is ConfigMap or Secret.
	// +kubebuilder:validation:Enum=ConfigMap;Secret
	Kind string `json:"kind"`

	// Name is the object's name, in the Application's namespace.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`

	// Optional lets the sync go on without the object when it does not
	// exist; otherwise a missing one fails the sync.
	// +optional
	Optional bool `json:"optional,omitempty"`
}

// HealthCheckRef names an object whose health counts in the
// Application's, as Flux's healthChecks entries do.
type HealthCheckRef struct {
	// APIVersion is the object's group/version, such as apps/v1.
	// +kubebuilder:validation:MinLength=1
	APIVersion string `json:"apiVersion"`

	// Kind is the object's kind.
	// +kubebuilder:validation:MinLength=1
	Kind string `json:"kind"`

	// Name is the object's name.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`

	// Namespace is the object's namespace; empty is the Application's
	// destination namespace for a namespaced kind.
	// +kubebuilder:validation:MaxLength=63
	// +optional
	Namespace string `json:"namespace,omitempty"`
}

// Decryption says how encrypted manifests are decrypted, in the shape of
// Flux's Kustomization spec.decryption.
type Decryption struct {
	// Provider is sops, the only provider.
	// +kubebuilder:validation:Enum=sops
	Provider string `json:"provider"`

	// SecretRef names a Secret in the Application's namespace, read as the
	// Application's service account reads it: its entries whose keys end
	// in .agekey hold age identities, those ending in .asc armored PGP
	// private keys (without a passphrase).
	SecretRef *corev1.LocalObjectReference `json:"secretRef"`
}

// ResourceIgnoreDifferences is Argo CD's entry of the same name: which
// objects (group and kind, optionally name and namespace) and which of
// their fields to leave out of the comparison with Git.
type ResourceIgnoreDifferences struct {
	// Group is the object's API group without the version; empty is the
	// core group. The wildcards * and ? match as in a glob.
	// +kubebuilder:validation:MaxLength=253
	// +optional
	Group string `json:"group,omitempty"`

	// Kind is the object's kind; the wildcards * and ? match as in a glob.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Kind string `json:"kind"`

	// Name, when set, narrows the entry to the object of this name.
	// +kubebuilder:validation:MaxLength=253
	// +optional
	Name string `json:"name,omitempty"`

	// Namespace, when set, narrows the entry to objects in this namespace.
	// +kubebuilder:validation:MaxLength=63
	// +optional
	Namespace string `json:"namespace,omitempty"`

	// JSONPointers are RFC 6901 pointers to the fields to ignore, such as
	// /spec/replicas.
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MaxLength=1024
	// +kubebuilder:validation:XValidation:rule="self.all(p, p.startsWith('/'))",message="each jsonPointer starts with /"
	// +optional
	JSONPointers []string `json:"jsonPointers,omitempty"`

	// JQPathExpressions are jq path expressions whose paths, in the live
	// object and in Git's, are ignored, such as
	// .spec.template.spec.initContainers[] | select(.name == "istio-init").
	// Only path-selecting jq is accepted: field and index access, [], ?,
	// |, ",", //, comparisons, and, or, if, try, and filters such as
	// select, has, test, startswith; no arithmetic, no object or array
	// construction, no reduce, foreach or def.
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MaxLength=1024
	// +optional
	JQPathExpressions []string `json:"jqPathExpressions,omitempty"`

	// ManagedFieldsManagers ignores every field that these field managers
	// own in the live object's metadata.managedFields.
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MaxLength=128
	// +optional
	ManagedFieldsManagers []string `json:"managedFieldsManagers,omitempty"`
}

// ApplicationWebhook is an Application's own push-event secret.
// +kubebuilder:validation:XValidation:rule="size(self.secretRef.name) > 0",message="webhook.secretRef.name names the Secret of the push-event token"
type ApplicationWebhook struct {
	// SecretRef names a Secret in the Application's namespace whose key
	// "token" holds the secret, surrounding whitespace aside: the key of
	// GitHub's X-Hub-Signature-256 HMAC, or what GitLab sends as
	// X-Gitlab-Token.
	SecretRef corev1.LocalObjectReference `json:"secretRef"`
}

// ApplicationSource is a path in a Git repository.
type ApplicationSource struct {
	// RepoURL is the repository's HTTPS or SSH URL.
	// +kubebuilder:validation:MinLength=1
	RepoURL string `json:"repoURL"`

	// TargetRevision is a branch, a tag, a semver range of tags or a commit
	// SHA. Empty means the remote's HEAD.
	// +optional
	TargetRevision string `json:"targetRevision,omitempty"`

	// Path is the directory inside the repository to render.
	// +optional
	Path string `json:"path,omitempty"`

	// Directory options for a plain directory of manifests.
	// +optional
	Directory *DirectorySource `json:"directory,omitempty"`

	// Kustomize options for a directory with a kustomization file.
	// +optional
	Kustomize *KustomizeSource `json:"kustomize,omitempty"`

	// Helm options for a chart: a directory with a Chart.yaml. Such a
	// directory is rendered as a chart with or without them.
	// +optional
	Helm *HelmSource `json:"helm,omitempty"`
}

// DirectorySource selects files in a plain directory of manifests.
type DirectorySource struct {
	// Recurse includes subdirectories.
	// +optional
	Recurse bool `json:"recurse,omitempty"`

	// Include is a glob of file names to render; empty means every
	// .yaml, .yml and .json file. {a,b} groups may make up to 64
	// alternatives in all.
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	Include string `json:"include,omitempty"`

	// Exclude is a glob of file names to leave out, bounded as Include.
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	Exclude string `json:"exclude,omitempty"`
}

// KustomizeSource adjusts a kustomization at render time.
type KustomizeSource struct {
	// Images overrides images, as `kustomize edit set image` takes them:
	// "name=newName:tag" or "name:tag".
	// +optional
	Images []string `json:"images,omitempty"`

	// NamePrefix is prepended to every object's name.
	// +optional
	NamePrefix string `json:"namePrefix,omitempty"`

	// NameSuffix is appended to every object's name.
	// +optional
	NameSuffix string `json:"nameSuffix,omitempty"`

	// CommonLabels are added to every object and selector.
	// +optional
	CommonLabels map[string]string `json:"commonLabels,omitempty"`

	// Namespace is set on every namespaced object, as a kustomization's
	// namespace: field sets it.
	// +kubebuilder:validation:MaxLength=63
	// +optional
	Namespace string `json:"namespace,omitempty"`

	// CommonAnnotations are added to every object (and its templates).
	// +optional
	CommonAnnotations map[string]string `json:"commonAnnotations,omitempty"`

	// Patches are applied as a kustomization's patches: field applies
	// them: a strategic merge patch or a JSON 6902 patch, inline or in a
	// file of the repository, on the objects Target selects.
	// +kubebuilder:validation:MaxItems=100
	// +optional
	Patches []KustomizePatch `json:"patches,omitempty"`
}

// KustomizePatch is one patch, with Argo CD's (and kustomize's) fields.
// +kubebuilder:validation:XValidation:rule="(has(self.path) && size(self.path) > 0) != (has(self.patch) && size(self.patch) > 0)",message="a patch has either path or patch"
type KustomizePatch struct {
	// Path is a file holding the patch, relative to the rendered path
	// (or, starting with "/", to the repository's root); a file outside
	// the repository is refused.
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	Path string `json:"path,omitempty"`

	// Patch is the patch itself: a strategic merge patch (an object) or a
	// JSON 6902 patch (a list of operations), in YAML or JSON.
	// +optional
	Patch string `json:"patch,omitempty"`

	// Target selects the objects to patch; without it, a strategic merge
	// patch applies to the object it names.
	// +optional
	Target *KustomizeSelector `json:"target,omitempty"`

	// Options are kustomize's patch options: allowNameChange,
	// allowKindChange.
	// +optional
	Options map[string]bool `json:"options,omitempty"`
}

// KustomizeSelector selects objects, as a kustomize patch target does.
// Name and Namespace are regular expressions matched whole.
type KustomizeSelector struct {
	// +optional
	Group string `json:"group,omitempty"`
	// +optional
	Version string `json:"version,omitempty"`
	// +optional
	Kind string `json:"kind,omitempty"`
	// +optional
	Name string `json:"name,omitempty"`
	// +optional
	Namespace string `json:"namespace,omitempty"`
	// LabelSelector is a label selector, such as app=web,tier!=db.
	// +optional
	LabelSelector string `json:"labelSelector,omitempty"`
	// AnnotationSelector is a selector over annotations, in the same form.
	// +optional
	AnnotationSelector string `json:"annotationSelector,omitempty"`
}

// HelmSource holds the values and release settings a chart is rendered
// with, in Argo CD's field names. Values merge from lowest to highest
// precedence: the chart's values.yaml, ValueFiles in order, Values (or
// ValuesObject, which replaces it), then Parameters.
type HelmSource struct {
	// ValueFiles are values files, relative to the chart's directory (or,
	// starting with "/", to the repository's root), merged in order: a
	// later file wins. A file outside the repository is refused.
	// +optional
	ValueFiles []string `json:"valueFiles,omitempty"`

	// IgnoreMissingValueFiles skips a value file that does not exist
	// rather than failing the render.
	// +optional
	IgnoreMissingValueFiles bool `json:"ignoreMissingValueFiles,omitempty"`

	// Values is a YAML document of values, over ValueFiles.
	// +optional
	Values string `json:"values,omitempty"`

	// ValuesObject is Values as an object; set, it is used instead of
	// Values.
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Schemaless
	// +kubebuilder:validation:Type=object
	// +optional
	ValuesObject *runtime.RawExtension `json:"valuesObject,omitempty"`

	// Parameters set single values, over every other source, as
	// `helm --set` (or `--set-string` with forceString) does.
	// +optional
	Parameters []HelmParameter `json:"parameters,omitempty"`

	// ReleaseName is the release's name in templates (.Release.Name);
	// empty means the Application's name.
	// +optional
	ReleaseName string `json:"releaseName,omitempty"`

	// SkipCrds leaves out the custom resource definitions of the charts'
	// crds/ directories.
	// +optional
	SkipCrds bool `json:"skipCrds,omitempty"`

	// SkipSchemaValidation renders without checking the values against
	// the charts' values.schema.json.
	// +optional
	SkipSchemaValidation bool `json:"skipSchemaValidation,omitempty"`

	// SkipTests is accepted for compatibility: test hooks
	// (helm.sh/hook: test) are always left out.
	// +optional
	SkipTests bool `json:"skipTests,omitempty"`
}

// HelmParameter sets one value, as `helm --set name=value` does.
type HelmParameter struct {
	// Name is the value's path: "image.tag", "env[0].name".
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`

	// Value is parsed as --set parses it (numbers, booleans, {a,b}
	// lists), or kept a string with ForceString.
	// +optional
	Value string `json:"value,omitempty"`

	// ForceString keeps Value a string, as --set-string does.
	// +optional
	ForceString bool `json:"forceString,omitempty"`
}

// ApplicationDestination is the cluster and namespace objects are applied to.
// +kubebuilder:validation:XValidation:rule="!has(self.server) || !has(self.name) || size(self.server) == 0 || size(self.name) == 0",message="destination names a cluster by server or by name, not both"
type ApplicationDestination struct {
	// Server is the API server URL of the cluster objects go to: empty or
	// https://kubernetes.default.svc for the cluster Sluice runs in, else
	// the server of a cluster registered by an Argo CD cluster Secret (see
	// "Several clusters" in docs/applications.md).
	// +optional
	Server string `json:"server,omitempty"`

	// Name is the name of a registered cluster (the cluster Secret's name
	// key), or in-cluster; an alternative to Server, as in Argo CD.
	// +optional
	Name string `json:"name,omitempty"`

	// Namespace is given to namespaced objects that name none.
	// +optional
	Namespace string `json:"namespace,omitempty"`
}

// SyncPolicy controls when and how an Application syncs.
type SyncPolicy struct {
	// Automated syncs every new revision and, with SelfHeal, every drift.
	// +optional
	Automated *AutomatedSyncPolicy `json:"automated,omitempty"`

	// SyncOptions as Argo CD spells them, such as CreateNamespace=true,
	// PruneLast=true, PrunePropagationPolicy=foreground and Force=true
	// (an object whose apply is refused for an immutable field is deleted
	// and created again).
	// +optional
	SyncOptions []string `json:"syncOptions,omitempty"`

	// Retry controls how a failed sync is retried.
	// +optional
	Retry *RetryStrategy `json:"retry,omitempty"`
}

// AutomatedSyncPolicy is Argo CD's automated sync block.
type AutomatedSyncPolicy struct {
	// Prune deletes objects that were applied before and are gone from Git.
	// +optional
	Prune bool `json:"prune,omitempty"`

	// SelfHeal re-applies objects changed or deleted in the cluster.
	// +optional
	SelfHeal bool `json:"selfHeal,omitempty"`

	// AllowEmpty lets a render with no objects prune everything. Without it
	// an empty render prunes nothing.
	// +optional
	AllowEmpty bool `json:"allowEmpty,omitempty"`
}

// RetryStrategy bounds retries of a failed sync.
type RetryStrategy struct {
	// Limit is the number of retries; a negative number retries forever.
	// +optional
	Limit int64 `json:"limit,omitempty"`

	// Backoff spaces the retries.
	// +optional
	Backoff *Backoff `json:"backoff,omitempty"`
}

// Backoff is an exponential backoff.
type Backoff struct {
	// Duration is the first wait, such as "5s".
	// +optional
	Duration *metav1.Duration `json:"duration,omitempty"`

	// Factor multiplies the wait after each retry.
	// +kubebuilder:validation:Minimum=1
	// +optional
	Factor *int64 `json:"factor,omitempty"`

	// MaxDuration caps the wait, such as "3m".
	// +optional
	MaxDuration *metav1.Duration `json:"maxDuration,omitempty"`
}

// SyncStatusCode says whether the cluster matches Git.
// +kubebuilder:validation:Enum=Synced;OutOfSync;Unknown
type SyncStatusCode string

// The sync states of an Application and of each object it owns.
const (
	SyncStatusSynced    SyncStatusCode = "Synced"
	SyncStatusOutOfSync SyncStatusCode = "OutOfSync"
	SyncStatusUnknown   SyncStatusCode = "Unknown"
)

// HealthStatusCode is the health of an Application or an object, with Argo
// CD's names.
// +kubebuilder:validation:Enum=Healthy;Progressing;Degraded;Suspended;Missing;Unknown
type HealthStatusCode string

// The health states of an Application and of each object it owns.
const (
	HealthHealthy     HealthStatusCode = "Healthy"
	HealthProgressing HealthStatusCode = "Progressing"
	HealthDegraded    HealthStatusCode = "Degraded"
	HealthSuspended   HealthStatusCode = "Suspended"
	HealthMissing     HealthStatusCode = "Missing"
	HealthUnknown     HealthStatusCode = "Unknown"
)

// ApplicationStatus is what Sluice observed and did.
type ApplicationStatus struct {
	// ObservedGeneration is the generation last reconciled successfully.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// Conditions: Ready, and Reconciling or Stalled only while true.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// Sync compares the cluster with the last fetched revision.
	// +optional
	Sync SyncStatus `json:"sync,omitempty"`

	// Health aggregates the health of every owned object.
	// +optional
	Health HealthStatus `json:"health,omitempty"`

	// Resources lists every owned object with its own sync and health.
	// +optional
	Resources []ResourceStatus `json:"resources,omitempty"`

	// Inventory is the set of objects the last successful sync applied; it
	// is what pruning compares against.
	// +optional
	Inventory []ObjectRef `json:"inventory,omitempty"`

	// History holds the last ten syncs, newest first.
	// +optional
	History []SyncHistory `json:"history,omitempty"`

	// LastSyncedAt is when the last sync finished.
	// +optional
	LastSyncedAt *metav1.Time `json:"lastSyncedAt,omitempty"`

	// LastHandledSyncRequest is the value of the gitops.sluice.dev/requested-at
	// annotation whose sync was last carried out: a request is carried out
	// once, across restarts of the manager.
	// +optional
	LastHandledSyncRequest string `json:"lastHandledSyncRequest,omitempty"`

	// OperationState is the sync under way, or the last one: where it
	// stands (its phase, wave and hooks) and how often it failed in a row.
	// It is what a restart of the manager resumes from.
	// +optional
	OperationState *OperationState `json:"operationState,omitempty"`
}

// OperationPhase is where a sync operation stands.
// +kubebuilder:validation:Enum=Running;Succeeded;Failed
type OperationPhase string

// The phases of a sync operation, with Argo CD's names.
const (
	OperationRunning   OperationPhase = "Running"
	OperationSucceeded OperationPhase = "Succeeded"
	OperationFailed    OperationPhase = "Failed"
)

// SyncPhase is a step of a sync: its hooks run in it, and its objects are
// applied in the Sync phase, wave by wave.
// +kubebuilder:validation:Enum=PreSync;Sync;PostSync;SyncFail
type SyncPhase string

// The phases of a sync, in the order they run; SyncFail runs only when one
// of the others failed.
const (
	SyncPhasePreSync  SyncPhase = "PreSync"
	SyncPhaseSync     SyncPhase = "Sync"
	SyncPhasePostSync SyncPhase = "PostSync"
	SyncPhaseSyncFail SyncPhase = "SyncFail"
)

// OperationState is one sync operation: of one revision, through its
// phases and waves, until it succeeds or fails.
type OperationState struct {
	// Phase is Running, Succeeded or Failed.
	Phase OperationPhase `json:"phase"`

	// Revision is the commit being synced.
	// +optional
	Revision string `json:"revision,omitempty"`

	// ObservedGeneration is the Application's generation the operation
	// syncs.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// SyncRequest is the value of the sync request annotation this
	// operation carries out, when a person asked for it.
	// +optional
	SyncRequest string `json:"syncRequest,omitempty"`

	// Prune says whether this operation prunes what left Git.
	// +optional
	Prune bool `json:"prune,omitempty"`

	// SyncPhase is the phase under way: PreSync, Sync, PostSync or
	// SyncFail.
	// +optional
	SyncPhase SyncPhase `json:"syncPhase,omitempty"`

	// Wave is the sync wave applied last, in the Sync phase.
	// +optional
	Wave int32 `json:"wave,omitempty"`

	// Hooks are the hooks this operation created, with how they ended.
	// +optional
	Hooks []HookStatus `json:"hooks,omitempty"`

	// Changed and Pruned count the objects the operation changed and
	// pruned so far.
	// +optional
	Changed int32 `json:"changed,omitempty"`
	// +optional
	Pruned int32 `json:"pruned,omitempty"`

	// Message says what the operation does or waits for, or why it
	// failed.
	// +optional
	Message string `json:"message,omitempty"`

	// StartedAt is when the operation began; spec.timeout counts from
	// it.
	StartedAt metav1.Time `json:"startedAt"`

	// FinishedAt is when it succeeded or failed.
	// +optional
	FinishedAt *metav1.Time `json:"finishedAt,omitempty"`

	// RetryCount is how many syncs in a row failed: the retry backoff
	// and syncPolicy.retry.limit count it.
	// +optional
	RetryCount int64 `json:"retryCount,omitempty"`
}

// HookStatus is a hook a sync created.
type HookStatus struct {
	ObjectRef `json:",inline"`
	// SyncPhase is the phase the hook ran in.
	SyncPhase SyncPhase `json:"syncPhase"`
	// Phase is Running, Succeeded or Failed.
	Phase OperationPhase `json:"phase"`
	// +optional
	Message string `json:"message,omitempty"`
}

// SyncStatus is the sync state against a revision.
type SyncStatus struct {
	// +optional
	Status SyncStatusCode `json:"status,omitempty"`
	// Revision is the commit SHA compared against.
	// +optional
	Revision string `json:"revision,omitempty"`
	// Commit describes the commit Revision names, as its repository
	// records it; absent while that is not known.
	// +optional
	Commit *CommitInfo `json:"commit,omitempty"`
}

// CommitInfo is what a person reads of a commit next to its SHA: what it
// says, who wrote it and when.
type CommitInfo struct {
	// Subject is the first line of the commit message, cut on a character
	// boundary to at most 200 bytes, ending in "…" when cut.
	// +kubebuilder:validation:MaxLength=200
	// +optional
	Subject string `json:"subject,omitempty"`
	// Author is the name of the commit's author, without the e-mail
	// address.
	// +optional
	Author string `json:"author,omitempty"`
	// Date is when the author wrote the commit (the author date).
	// +optional
	Date metav1.Time `json:"date,omitempty"`
}

// HealthStatus is a health state with a reason a person can read.
type HealthStatus struct {
	// +optional
	Status HealthStatusCode `json:"status,omitempty"`
	// +optional
	Message string `json:"message,omitempty"`
}

// ObjectRef identifies one object.
type ObjectRef struct {
	// +optional
	Group string `json:"group,omitempty"`
	// +optional
	Version string `json:"version,omitempty"`
	Kind    string `json:"kind"`
	// +optional
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
}

// ResourceStatus is one owned object's state.
type ResourceStatus struct {
	ObjectRef `json:",inline"`
	// +optional
	Status SyncStatusCode `json:"status,omitempty"`
	// +optional
	Health *HealthStatus `json:"health,omitempty"`
}

// SyncHistory records one sync.
type SyncHistory struct {
	Revision   string      `json:"revision"`
	DeployedAt metav1.Time `json:"deployedAt"`
	// Result is Succeeded or Failed.
	Result string `json:"result"`
	// +optional
	Message string `json:"message,omitempty"`
}

// Application syncs a path of a Git repository into the cluster.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=app;apps,categories=sluice
// +kubebuilder:printcolumn:name="Sync",type=string,JSONPath=`.status.sync.status`
// +kubebuilder:printcolumn:name="Health",type=string,JSONPath=`.status.health.status`
// +kubebuilder:printcolumn:name="Revision",type=string,JSONPath=`.status.sync.revision`,priority=1
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Application struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   ApplicationSpec   `json:"spec"`
	Status ApplicationStatus `json:"status,omitempty"`
}

// ApplicationList is a list of Applications.
//
// +kubebuilder:object:root=true
type ApplicationList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Application `json:"items"`
}
