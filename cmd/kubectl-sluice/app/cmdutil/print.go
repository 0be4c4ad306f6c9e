package cmdutil

import (
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/spf13/cobra"
	"golang.org/x/term"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/printers"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
)

// PrintFlags is -o of a command that prints a table by default: "wide"
// shows the table's extra columns, and every other format (json, yaml,
// name, the templates) is cli-runtime's, as kubectl get's.
type PrintFlags struct {
	*genericclioptions.PrintFlags
}

// NewPrintFlags is -o with the table as its default.
func NewPrintFlags() *PrintFlags {
	return &PrintFlags{PrintFlags: genericclioptions.NewPrintFlags("")}
}

// AddFlags adds -o and the flags of cli-runtime's printers to cmd, with
// usage as -o's help.
func (f *PrintFlags) AddFlags(cmd *cobra.Command, usage string) {
	f.PrintFlags.AddFlags(cmd)
	cmd.Flags().Lookup("output").Usage = usage
}

// Table reports whether -o asks for the table ("" or "wide").
func (f *PrintFlags) Table() bool {
	return f.output() == "" || f.output() == "wide"
}

// Validate checks -o names a format.
func (f *PrintFlags) Validate() error {
	if f.Table() || slices.Contains(f.AllowedFormats(), f.output()) {
		return nil
	}
	return fmt.Errorf("--output %q: use wide or one of %v", f.output(), f.AllowedFormats())
}

// ToPrinter is the printer -o asks for: the table printer (wide or not),
// or cli-runtime's printer of the format.
func (f *PrintFlags) ToPrinter() (printers.ResourcePrinter, error) {
	if f.Table() {
		return printers.NewTablePrinter(printers.PrintOptions{Wide: f.output() == "wide"}), nil
	}
	return f.PrintFlags.ToPrinter()
}

func (f *PrintFlags) output() string {
	if f.OutputFormat == nil {
		return ""
	}
	return *f.OutputFormat
}

// ObjectPrintFlags is -o of a command that draws one object by default:
// the drawing, or the object itself as json, yaml or its name.
type ObjectPrintFlags struct {
	*genericclioptions.PrintFlags
}

// NewObjectPrintFlags is -o with the drawing as its default.
func NewObjectPrintFlags() *ObjectPrintFlags {
	return &ObjectPrintFlags{PrintFlags: genericclioptions.NewPrintFlags("")}
}

// AddFlags adds -o (and the flags of cli-runtime's printers) to cmd.
func (f *ObjectPrintFlags) AddFlags(cmd *cobra.Command, usage string) {
	f.PrintFlags.AddFlags(cmd)
	cmd.Flags().Lookup("output").Usage = usage
}

// Drawing reports whether -o asks for the drawing (it is not given).
func (f *ObjectPrintFlags) Drawing() bool { return f.OutputFormat == nil || *f.OutputFormat == "" }

// Validate checks -o names a format.
func (f *ObjectPrintFlags) Validate() error {
	if f.Drawing() || slices.Contains(f.AllowedFormats(), *f.OutputFormat) {
		return nil
	}
	return fmt.Errorf("--output %q: use one of %v", *f.OutputFormat, f.AllowedFormats())
}

// Print prints obj, and each item of a list, with its apiVersion and
// kind, through printer. A typed list is printed as an unstructured one,
// the only kind of list cli-runtime's name printer takes.
func Print(printer printers.ResourcePrinter, obj runtime.Object, out io.Writer) error {
	if err := SetKind(obj); err != nil {
		return err
	}
	if meta.IsListType(obj) {
		content, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
		if err != nil {
			return err
		}
		list := &unstructured.UnstructuredList{}
		list.SetUnstructuredContent(content)
		obj = list
	}
	return printer.PrintObj(obj, out)
}

func setKind(obj runtime.Object) error {
	gvk, err := apiutil.GVKForObject(obj, Scheme)
	if err != nil {
		return err
	}
	obj.GetObjectKind().SetGroupVersionKind(gvk)
	return nil
}

func extractList(obj runtime.Object) ([]runtime.Object, error) {
	if !meta.IsListType(obj) {
		return nil, nil
	}
	return meta.ExtractList(obj)
}

// Redrawer prints the successive drawings of a watched object: a drawing
// only when it changed, over the last one on a terminal, after a blank
// line elsewhere (a file or a pipe keeps every drawing).
type Redrawer struct {
	out      io.Writer
	terminal bool
	last     string
}

// NewRedrawer draws on out.
func NewRedrawer(out io.Writer) *Redrawer {
	f, ok := out.(*os.File)
	return &Redrawer{out: out, terminal: ok && term.IsTerminal(int(f.Fd()))}
}

// Draw prints drawing unless it is the last one printed.
func (r *Redrawer) Draw(drawing string) error {
	if drawing == r.last {
		return nil
	}
	switch {
	case r.last != "" && r.terminal:
		fmt.Fprint(r.out, "\033[H\033[2J") // redraw in place
	case r.last != "":
		fmt.Fprintln(r.out)
	}
	r.last = drawing
	_, err := fmt.Fprint(r.out, drawing)
	return err
}

// NoneFound says on errOut that a list is empty, as kubectl get says it:
// a table of no rows prints nothing, not even its header.
func NoneFound(errOut io.Writer, plural, namespace string, allNamespaces bool) {
	if allNamespaces {
		fmt.Fprintf(errOut, "No %s found\n", plural)
		return
	}
	fmt.Fprintf(errOut, "No %s found in %s namespace.\n", plural, namespace)
}
