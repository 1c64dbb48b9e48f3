package manifest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"gopkg.in/yaml.v3"
)

// parseYAML parses data, which must hold one YAML document whose top is a mapping,
// into a node tree, and checks the tree against maxDepth and maxValues. Aliases stay
// unexpanded in the tree; the checks count what expanding them would produce.
//
// yaml.v3 refuses flow and block nesting past 10,000 levels itself (while parsing,
// before the tree is built); the tree is then held to maxDepth. It does not expand
// aliases when parsing into a yaml.Node. A panic of the parser (a bug of yaml.v3
// on some input) is turned into ErrSyntax.
func parseYAML(path string, data []byte) (*yaml.Node, error) {
	return recoverSyntax(path, func() (*yaml.Node, error) { return parseYAMLTree(path, data) })
}

// recoverSyntax returns parse's results, or ErrSyntax if parse panics.
func recoverSyntax(path string, parse func() (*yaml.Node, error)) (root *yaml.Node, err error) {
	defer func() {
		if r := recover(); r != nil {
			root, err = nil, errorf(path, "", ErrSyntax, "not valid YAML: the parser failed: %v", r)
		}
	}()
	return parse()
}

func parseYAMLTree(path string, data []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errorf(path, "", ErrSyntax, "the file is empty; a YAML mapping is expected")
		}
		return nil, yamlSyntax(path, err)
	}
	var more yaml.Node
	switch err := dec.Decode(&more); {
	case errors.Is(err, io.EOF):
	case err != nil:
		return nil, yamlSyntax(path, err)
	default:
		return nil, errorf(path, "", ErrSyntax, "the file holds more than one YAML document; the second starts at line %d", more.Line)
	}
	n := &doc
	if n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		n = n.Content[0]
	}
	if n.Kind != yaml.MappingNode {
		return nil, errorf(path, "", ErrSyntax, "the file must hold a YAML mapping (key: value lines), not %s (line %d)", yamlWhat(n), n.Line)
	}
	l := &limiter{path: path, sizes: map[*yaml.Node]int{}, busy: map[*yaml.Node]bool{}}
	if _, err := l.size(n, 1); err != nil {
		return nil, err
	}
	return n, nil
}

// yamlSyntax turns a yaml.v3 error into ErrSyntax. Its messages carry the line.
func yamlSyntax(path string, err error) error {
	return errorf(path, "", ErrSyntax, "not valid YAML: %s", strings.TrimPrefix(err.Error(), "yaml: "))
}

// limiter computes how many values a YAML tree holds once its aliases are
// expanded, in time linear in the tree: the size of every anchored node is
// remembered. It fails past maxValues or maxDepth, and on an anchor that contains
// an alias of itself.
type limiter struct {
	path  string
	sizes map[*yaml.Node]int  // of anchored nodes already counted
	busy  map[*yaml.Node]bool // anchored nodes being counted
	total int
}

func (l *limiter) size(n *yaml.Node, depth int) (int, error) {
	if n.Kind == yaml.AliasNode {
		if n.Alias == nil {
			return 0, errorf(l.path, "", ErrSyntax, "not valid YAML: alias %q has no anchor (line %d)", n.Value, n.Line)
		}
		n = n.Alias
	}
	if s, ok := l.sizes[n]; ok {
		return s, l.add(s)
	}
	if l.busy[n] {
		return 0, errorf(l.path, "", ErrSyntax, "not valid YAML: anchor %q contains an alias of itself (line %d)", n.Anchor, n.Line)
	}
	if depth > maxDepth {
		return 0, errorf(l.path, "", ErrSyntax, "the document nests deeper than %d levels at line %d", maxDepth, n.Line)
	}
	if n.Anchor != "" {
		l.busy[n] = true
		defer delete(l.busy, n)
	}
	// While counting an anchored node, l.total also counts its content; a
	// remembered size is added to l.total once per use.
	before := l.total
	if err := l.add(1); err != nil {
		return 0, err
	}
	for _, c := range n.Content {
		if _, err := l.size(c, depth+1); err != nil {
			return 0, err
		}
	}
	s := l.total - before
	if n.Anchor != "" {
		l.sizes[n] = s
	}
	return s, nil
}

// add counts s more values.
func (l *limiter) add(s int) error {
	l.total += s
	if l.total > maxValues {
		return errorf(l.path, "", ErrSyntax, "the document holds more than %d values once its aliases are expanded", maxValues)
	}
	return nil
}

// yamlWhat describes a node for a message.
func yamlWhat(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.MappingNode:
		return "a mapping"
	case yaml.ScalarNode:
		return fmt.Sprintf("the scalar %s", quote(n.Value))
	}
	return "an empty document"
}
