package v1alpha1

// Finalizers that hold an Application, once deleted, until the objects it
// applied are deleted. Argo CD's three names are honoured as Argo CD
// defines them, so an Application moved over keeps what deleting it does.
const (
	// ResourcesFinalizer is Sluice's own: the controller adds it to every
	// Application it reconciles unless DeleteResourcesAnnotation is
	// "false" or the Application carries one of Argo CD's. Its objects
	// are deleted with the syncOptions' PrunePropagationPolicy, foreground
	// when it names none.
	ResourcesFinalizer = "gitops.sluice.dev/resources"
	// ArgoCDResourcesFinalizer deletes the objects with foreground
	// propagation.
	ArgoCDResourcesFinalizer = "resources-finalizer.argocd.argoproj.io"
	// ArgoCDForegroundFinalizer is ArgoCDResourcesFinalizer, spelled out.
	ArgoCDForegroundFinalizer = "resources-finalizer.argocd.argoproj.io/foreground"
	// ArgoCDBackgroundFinalizer deletes the objects with background
	// propagation.
	ArgoCDBackgroundFinalizer = "resources-finalizer.argocd.argoproj.io/background"
	// FluxFinalizer is the finalizer Flux's controllers put on a
	// Kustomization: a Kustomization moved over from Flux is deleted as it
	// was there, its objects with background propagation when it prunes.
	FluxFinalizer = "finalizers.fluxcd.io"
)

// DeleteResourcesAnnotation "false" on an Application leaves its objects
// in place when it is deleted, whichever of the finalizers above it
// carries, and keeps the controller from adding its own.
const DeleteResourcesAnnotation = "gitops.sluice.dev/delete-resources"
