package manifest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// parseJSON parses data, which must hold one JSON object, into the node tree the
// decoder walks, so that JSON and YAML share one decoder. Scalars carry explicit
// tags: !!str, !!int (a number without fraction or exponent), !!float, !!bool,
// !!null. Nodes carry the line and column where their value starts.
func parseJSON(path string, data []byte) (*yaml.Node, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	p := &jsonParser{path: path, data: data, dec: dec, cur: cursor{data: data, line: 1, col: 1}}
	tok, off, err := p.next()
	if err == io.EOF {
		return nil, errorf(path, "", ErrSyntax, "the file is empty; a JSON object is expected")
	}
	if err != nil {
		return nil, p.syntax(err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, errorf(path, "", ErrSyntax, "the file must hold a JSON object, not %s (%s)", jsonWhat(tok), position(data, off))
	}
	root, err := p.container(tok.(json.Delim), off, 1)
	if err != nil {
		return nil, err
	}
	if _, off, err := p.next(); err != io.EOF {
		if err != nil {
			return nil, p.syntax(err)
		}
		return nil, errorf(path, "", ErrSyntax, "not valid JSON: unexpected text after the object at %s", position(data, off))
	}
	return root, nil
}

type jsonParser struct {
	path   string
	data   []byte
	dec    *json.Decoder
	cur    cursor
	values int
}

// next returns the next token and the offset where it starts.
func (p *jsonParser) next() (json.Token, int, error) {
	off := int(p.dec.InputOffset())
	for off < len(p.data) && strings.IndexByte(" \t\r\n,:", p.data[off]) >= 0 {
		off++
	}
	tok, err := p.dec.Token()
	return tok, off, err
}

// value builds the node for tok, which starts at off, at nesting depth depth.
func (p *jsonParser) value(tok json.Token, off, depth int) (*yaml.Node, error) {
	p.values++
	if p.values > maxValues {
		return nil, errorf(p.path, "", ErrSyntax, "the document holds more than %d values", maxValues)
	}
	if d, ok := tok.(json.Delim); ok {
		return p.container(d, off, depth)
	}
	n := &yaml.Node{Kind: yaml.ScalarNode}
	n.Line, n.Column = p.cur.at(off)
	switch tok := tok.(type) {
	case string:
		n.Tag, n.Value, n.Style = "!!str", tok, yaml.DoubleQuotedStyle
	case json.Number:
		n.Tag, n.Value = "!!int", string(tok)
		if strings.ContainsAny(n.Value, ".eE") {
			n.Tag = "!!float"
		}
	case bool:
		n.Tag, n.Value = "!!bool", "false"
		if tok {
			n.Value = "true"
		}
	case nil:
		n.Tag, n.Value = "!!null", "null"
	}
	return n, nil
}

// container builds the node for the object or array opened by delim at off.
func (p *jsonParser) container(delim json.Delim, off, depth int) (*yaml.Node, error) {
	if depth > maxDepth {
		return nil, errorf(p.path, "", ErrSyntax, "the document nests deeper than %d levels at %s", maxDepth, position(p.data, off))
	}
	n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Style: yaml.FlowStyle}
	end := json.Delim(']')
	if delim == '{' {
		n.Kind, n.Tag, end = yaml.MappingNode, "!!map", '}'
	}
	n.Line, n.Column = p.cur.at(off)
	for {
		tok, off, err := p.next()
		if err != nil {
			return nil, p.syntax(err)
		}
		if tok == end {
			return n, nil
		}
		if n.Kind == yaml.MappingNode {
			key, ok := tok.(string)
			if !ok { // json.Decoder reports this itself; kept as a guard
				return nil, errorf(p.path, "", ErrSyntax, "not valid JSON: expected a string key at %s", position(p.data, off))
			}
			k := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key, Style: yaml.DoubleQuotedStyle}
			k.Line, k.Column = p.cur.at(off)
			n.Content = append(n.Content, k)
			if tok, off, err = p.next(); err != nil {
				return nil, p.syntax(err)
			}
		}
		v, err := p.value(tok, off, depth+1)
		if err != nil {
			return nil, err
		}
		n.Content = append(n.Content, v)
	}
}

// syntax turns a decoder error into ErrSyntax with the line and column it happened
// at. json.Decoder gives some offsets relative to the value it was reading, so the
// position comes from scanning the whole text again with json.Unmarshal, whose
// offsets are absolute; it stops at the same first error.
func (p *jsonParser) syntax(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		// Whatever came before was valid: the text ends too soon.
		return errorf(p.path, "", ErrSyntax, "not valid JSON: %s: unexpected end of file", position(p.data, len(p.data)))
	}
	var raw json.RawMessage
	if uerr := json.Unmarshal(p.data, &raw); uerr != nil {
		err = uerr
	}
	off := len(p.data)
	var se *json.SyntaxError
	if errors.As(err, &se) {
		off = int(se.Offset) - 1 // Offset counts the offending byte
	}
	return errorf(p.path, "", ErrSyntax, "not valid JSON: %s: %s", position(p.data, off), strings.TrimPrefix(err.Error(), "json: "))
}

// jsonWhat describes a token for a message.
func jsonWhat(tok json.Token) string {
	switch tok := tok.(type) {
	case json.Delim:
		if tok == '[' {
			return "an array"
		}
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	}
	return "a value"
}

// cursor turns increasing byte offsets into lines and columns in time linear in
// the text, however many offsets are asked for.
type cursor struct {
	data      []byte
	off       int
	line, col int
}

func (c *cursor) at(off int) (line, col int) {
	for ; c.off < off && c.off < len(c.data); c.off++ {
		switch b := c.data[c.off]; {
		case b == '\n':
			c.line, c.col = c.line+1, 1
		case utf8.RuneStart(b):
			c.col++
		}
	}
	return c.line, c.col
}
