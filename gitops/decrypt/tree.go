package decrypt

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"go.yaml.in/yaml/v3"
)

// A document is read into the tree sops itself builds from YAML, because
// which values are encrypted, their additional data and the MAC are all
// defined over that tree: mappings are ordered lists of items, comments
// are items of their own (encrypted_comment_regex and
// unencrypted_comment_regex look at the comments above a value, and
// comments are encrypted too), and scalars are the Go values yaml.v3
// decodes them to (string, int, float64, bool, nil, time.Time).
//
// Reference: https://github.com/getsops/sops, stores/yaml/store.go.

// mapping is a YAML mapping in the order it was written.
type mapping []item

// item is one entry of a mapping: a key and its value, or a comment line
// (key is a comment, value nil).
type item struct {
	key   any
	value any
	// node is the value's YAML node, kept to read the metadata from.
	node *yaml.Node
}

// comment is one line of a YAML comment, without its '#'.
type comment struct {
	text string
}

// parseDocuments reads the first document of a YAML stream into a
// mapping, and counts the documents. Later documents are not read into
// trees: only the first is checked for excessive aliasing (below), and a
// stream of several is refused anyway.
func parseDocuments(doc []byte) (first mapping, count int, err error) {
	if len(doc) > 0 {
		// yaml.v3 checks that keys are unique, and that aliases do not
		// multiply a small document into a huge one, only when it decodes
		// into a Go value: a document with a key twice would have two
		// readings.
		if err := yaml.NewDecoder(bytes.NewReader(doc)).Decode(map[string]any{}); err != nil {
			return nil, 0, err
		}
	}
	d := yaml.NewDecoder(bytes.NewReader(doc))
	for {
		var node yaml.Node
		err := d.Decode(&node)
		if errors.Is(err, io.EOF) {
			return first, count, nil
		}
		if err != nil {
			return nil, 0, err
		}
		count++
		if count == 1 {
			r := treeReader{open: map[*yaml.Node]bool{}}
			if first, err = r.appendToMapping(&node, mapping{}, false); err != nil {
				return nil, 0, err
			}
		}
	}
}

// treeReader reads YAML nodes into a tree.
type treeReader struct {
	// open are the mappings and lists being read: an alias to one of them
	// would be read forever.
	open map[*yaml.Node]bool
}

// enter marks a mapping or list as being read, unless it already is.
func (r *treeReader) enter(node *yaml.Node) error {
	if r.open[node] {
		return errors.New("an alias refers to a mapping or list that contains it")
	}
	r.open[node] = true
	return nil
}

// appendComment appends a YAML comment's lines to a list of comments.
func appendComment(text string, to []any) []any {
	for _, line := range strings.Split(text, "\n") {
		if line != "" {
			to = append(to, comment{text: line[1:]})
		}
	}
	return to
}

// appendCommentItems appends a YAML comment's lines to a mapping.
func appendCommentItems(text string, to mapping) mapping {
	for _, line := range strings.Split(text, "\n") {
		if line != "" {
			to = append(to, item{key: comment{text: line[1:]}})
		}
	}
	return to
}

// appendToMapping appends the entries of a document or mapping node to m,
// with its comments where sops puts them.
func (r *treeReader) appendToMapping(node *yaml.Node, m mapping, commentsHandled bool) (mapping, error) {
	if !commentsHandled {
		m = appendCommentItems(node.HeadComment, m)
		m = appendCommentItems(node.LineComment, m)
	}
	switch node.Kind {
	case yaml.DocumentNode:
		for _, child := range node.Content {
			var err error
			if m, err = r.appendToMapping(child, m, false); err != nil {
				return nil, err
			}
		}
	case yaml.SequenceNode:
		return nil, errors.New("a YAML document that is a list is not supported")
	case yaml.MappingNode:
		if err := r.enter(node); err != nil {
			return nil, err
		}
		defer delete(r.open, node)
		for i := 0; i+1 < len(node.Content); i += 2 {
			key, value := node.Content[i], node.Content[i+1]
			m = appendCommentItems(key.HeadComment, m)
			m = appendCommentItems(key.LineComment, m)
			scalar := value.Kind == yaml.ScalarNode || value.Kind == yaml.AliasNode
			if scalar {
				m = appendCommentItems(value.HeadComment, m)
				m = appendCommentItems(value.LineComment, m)
			}
			var k any
			_ = key.Decode(&k) // as sops: a key that does not decode is nil, refused by the walk
			v, err := r.treeValue(value, scalar)
			if err != nil {
				return nil, err
			}
			m = append(m, item{key: k, value: v, node: value})
			if scalar {
				m = appendCommentItems(value.FootComment, m)
			}
			m = appendCommentItems(key.FootComment, m)
		}
	case yaml.ScalarNode:
		// An empty document (a lone "---") is null.
		if node.ShortTag() == "!!null" {
			return m, nil
		}
		return nil, errors.New("a YAML document that is a single value is not supported")
	case yaml.AliasNode:
		return r.appendToMapping(node.Alias, m, false)
	}
	if !commentsHandled {
		m = appendCommentItems(node.FootComment, m)
	}
	return m, nil
}

// treeValue is the tree of one YAML value.
func (r *treeReader) treeValue(node *yaml.Node, commentsHandled bool) (any, error) {
	switch node.Kind {
	case yaml.SequenceNode:
		if err := r.enter(node); err != nil {
			return nil, err
		}
		defer delete(r.open, node)
		var list []any
		if !commentsHandled {
			list = appendComment(node.HeadComment, list)
			list = appendComment(node.LineComment, list)
		}
		for _, child := range node.Content {
			list = appendComment(child.HeadComment, list)
			list = appendComment(child.LineComment, list)
			v, err := r.treeValue(child, true)
			if err != nil {
				return nil, err
			}
			list = append(list, v)
			list = appendComment(child.FootComment, list)
		}
		if !commentsHandled {
			list = appendComment(node.FootComment, list)
		}
		return list, nil
	case yaml.MappingNode:
		return r.appendToMapping(node, mapping{}, commentsHandled)
	case yaml.ScalarNode:
		var v any
		_ = node.Decode(&v) // as sops: a scalar that does not decode (a bad !!int) is null
		return v, nil
	case yaml.AliasNode:
		return r.treeValue(node.Alias, false)
	}
	return nil, nil
}

// plainYAML writes a decrypted mapping as `sops --decrypt` writes it,
// without its comments. Document reads that back with sigs.k8s.io/yaml,
// as every manifest is read, so numbers, timestamps and merge keys come
// out of a decrypted document as they would out of its plaintext.
func plainYAML(m mapping) ([]byte, error) {
	root, err := mappingNode(m)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	e := yaml.NewEncoder(&out)
	e.SetIndent(4)
	if err := e.Encode(&yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{root}}); err != nil {
		return nil, errors.New("the YAML encoder refuses it")
	}
	if err := e.Close(); err != nil {
		return nil, errors.New("the YAML encoder refuses it")
	}
	return out.Bytes(), nil
}

func mappingNode(m mapping) (*yaml.Node, error) {
	node := &yaml.Node{Kind: yaml.MappingNode}
	for _, it := range m {
		if _, ok := it.key.(comment); ok {
			continue
		}
		key := &yaml.Node{}
		if err := key.Encode(it.key); err != nil {
			return nil, fmt.Errorf("a key of type %T cannot be written", it.key)
		}
		value, err := valueNode(it.value)
		if err != nil {
			return nil, err
		}
		node.Content = append(node.Content, key, value)
	}
	return node, nil
}

func valueNode(v any) (*yaml.Node, error) {
	switch v := v.(type) {
	case mapping:
		return mappingNode(v)
	case []any:
		node := &yaml.Node{Kind: yaml.SequenceNode}
		for _, elem := range v {
			if _, ok := elem.(comment); ok {
				continue
			}
			child, err := valueNode(elem)
			if err != nil {
				return nil, err
			}
			node.Content = append(node.Content, child)
		}
		return node, nil
	case comment:
		return nil, errors.New("a value decrypts to a comment")
	default:
		node := &yaml.Node{}
		if err := node.Encode(v); err != nil {
			return nil, fmt.Errorf("a value of type %T cannot be written", v)
		}
		return node, nil
	}
}
