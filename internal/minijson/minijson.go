// Package minijson is the part of encoding/json the browser engine uses:
// Marshal, Unmarshal, a Decoder that can refuse unknown fields, RawMessage
// and Number, over structs with `json` tags, slices, arrays, maps with
// string keys, []byte as a base64 string (an attachment's content) and
// the Marshaler, Unmarshaler and encoding.Text(Un)Marshaler methods. Its
// output is encoding/json's, byte for byte.
//
// Why not encoding/json itself: its general machinery made the
// WebAssembly engine about 45 KB larger after brotli (the page's whole budget is
// 2 MB), and its first call, compiled lazily by the browser, held up the
// server's greeting by tens of milliseconds. The tests check this package
// against encoding/json on everything the engine sends and reads.
//
// What it leaves out: fields promoted from embedded structs, the "string"
// and "omitzero" tag options, map keys that are not
// strings, and case-insensitive matching of field names (a key must be
// spelt as its field's tag says).
package minijson

import (
	"bytes"
	"encoding"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Marshaler is implemented by types that write their own JSON.
type Marshaler interface {
	MarshalJSON() ([]byte, error)
}

// Unmarshaler is implemented by types that read their own JSON.
type Unmarshaler interface {
	UnmarshalJSON([]byte) error
}

// RawMessage is JSON text kept as it is: decoded into without parsing,
// encoded as itself.
type RawMessage []byte

// MarshalJSON returns m, or null for a nil m.
func (m RawMessage) MarshalJSON() ([]byte, error) {
	if m == nil {
		return []byte("null"), nil
	}
	return m, nil
}

// UnmarshalJSON keeps a copy of b.
func (m *RawMessage) UnmarshalJSON(b []byte) error {
	*m = append((*m)[:0], b...)
	return nil
}

// Number is a JSON number as written, for a Decoder with UseNumber.
type Number string

func (n Number) String() string            { return string(n) }
func (n Number) Int64() (int64, error)     { return strconv.ParseInt(string(n), 10, 64) }
func (n Number) Float64() (float64, error) { return strconv.ParseFloat(string(n), 64) }

// Marshal returns the JSON encoding of v.
func Marshal(v any) ([]byte, error) {
	var e encoder
	if err := e.value(reflect.ValueOf(v)); err != nil {
		return nil, err
	}
	return e.buf, nil
}

// Unmarshal decodes the JSON value in data into v, a non-nil pointer.
func Unmarshal(data []byte, v any) error {
	return decode(data, v, false, false)
}

// A Decoder reads one JSON value from a reader.
type Decoder struct {
	r         io.Reader
	strict    bool
	useNumber bool
	done      bool // Decode read all of r
}

// NewDecoder returns a Decoder reading from r.
func NewDecoder(r io.Reader) *Decoder { return &Decoder{r: r} }

// DisallowUnknownFields makes an object key that matches no field of the
// struct it is decoded into an error.
func (d *Decoder) DisallowUnknownFields() { d.strict = true }

// UseNumber decodes numbers into an interface value as Number, not float64.
func (d *Decoder) UseNumber() { d.useNumber = true }

// Decode reads the whole input, which must be one JSON value, into v.
func (d *Decoder) Decode(v any) error {
	if d.done {
		return io.EOF
	}
	d.done = true
	data, err := io.ReadAll(d.r)
	if err != nil {
		return err
	}
	return decode(data, v, d.strict, d.useNumber)
}

// ---- encoding ----

type encoder struct {
	buf    []byte
	fields fieldCache
}

var (
	marshalerType     = reflect.TypeFor[Marshaler]()
	textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()
)

func (e *encoder) value(v reflect.Value) error {
	if !v.IsValid() {
		e.buf = append(e.buf, "null"...)
		return nil
	}
	t := v.Type()
	if t.Kind() != reflect.Pointer && t.Kind() != reflect.Interface && v.CanAddr() && mayHaveMethods(t) && reflect.PointerTo(t).Implements(marshalerType) {
		v = v.Addr()
		t = v.Type()
	}
	if t.Implements(marshalerType) {
		if (t.Kind() == reflect.Pointer || t.Kind() == reflect.Interface) && v.IsNil() {
			e.buf = append(e.buf, "null"...)
			return nil
		}
		b, err := v.Interface().(Marshaler).MarshalJSON()
		if err != nil {
			return fmt.Errorf("json: error calling MarshalJSON for type %s: %w", t, err)
		}
		var out bytes.Buffer
		if err := compact(&out, b); err != nil {
			return fmt.Errorf("json: error calling MarshalJSON for type %s: %w", t, err)
		}
		e.buf = append(e.buf, out.Bytes()...)
		return nil
	}
	if t.Kind() != reflect.Pointer && t.Implements(textMarshalerType) {
		b, err := v.Interface().(encoding.TextMarshaler).MarshalText()
		if err != nil {
			return fmt.Errorf("json: error calling MarshalText for type %s: %w", t, err)
		}
		e.str(string(b))
		return nil
	}
	switch t.Kind() {
	case reflect.Bool:
		e.buf = strconv.AppendBool(e.buf, v.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		e.buf = strconv.AppendInt(e.buf, v.Int(), 10)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		e.buf = strconv.AppendUint(e.buf, v.Uint(), 10)
	case reflect.Float32, reflect.Float64:
		return e.float(v.Float(), t.Bits())
	case reflect.String:
		if t == reflect.TypeFor[Number]() {
			e.buf = append(e.buf, v.String()...)
			return nil
		}
		e.str(v.String())
	case reflect.Interface, reflect.Pointer:
		if v.IsNil() {
			e.buf = append(e.buf, "null"...)
			return nil
		}
		return e.value(v.Elem())
	case reflect.Struct:
		return e.object(v)
	case reflect.Map:
		return e.mapping(v)
	case reflect.Slice:
		if v.IsNil() {
			e.buf = append(e.buf, "null"...)
			return nil
		}
		if bytesLike(t) {
			e.buf = append(e.buf, '"')
			e.buf = base64.StdEncoding.AppendEncode(e.buf, v.Bytes())
			e.buf = append(e.buf, '"')
			return nil
		}
		fallthrough
	case reflect.Array:
		e.buf = append(e.buf, '[')
		for i := range v.Len() {
			if i > 0 {
				e.buf = append(e.buf, ',')
			}
			if err := e.value(v.Index(i)); err != nil {
				return err
			}
		}
		e.buf = append(e.buf, ']')
	default:
		return fmt.Errorf("json: unsupported type %s", t)
	}
	return nil
}

// float writes f as encoding/json does: like ES6, 'f' for ordinary
// magnitudes and 'e' with a short exponent for tiny or huge ones.
func (e *encoder) float(f float64, bits int) error {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return fmt.Errorf("json: unsupported value: %s", strconv.FormatFloat(f, 'g', -1, bits))
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (bits == 64 && (abs < 1e-6 || abs >= 1e21) || bits == 32 && (float32(abs) < 1e-6 || float32(abs) >= 1e21)) {
		format = 'e'
	}
	e.buf = strconv.AppendFloat(e.buf, f, format, -1, bits)
	if format == 'e' {
		// clean up e-09 to e-9
		n := len(e.buf)
		if n >= 4 && e.buf[n-4] == 'e' && e.buf[n-3] == '-' && e.buf[n-2] == '0' {
			e.buf[n-2] = e.buf[n-1]
			e.buf = e.buf[:n-1]
		}
	}
	return nil
}

func (e *encoder) object(v reflect.Value) error {
	e.buf = append(e.buf, '{')
	first := true
	for _, f := range e.fields.of(v.Type()) {
		fv := v.Field(f.index)
		if f.omitEmpty && isEmpty(fv) {
			continue
		}
		if !first {
			e.buf = append(e.buf, ',')
		}
		first = false
		e.str(f.name)
		e.buf = append(e.buf, ':')
		if err := e.value(fv); err != nil {
			return err
		}
	}
	e.buf = append(e.buf, '}')
	return nil
}

func (e *encoder) mapping(v reflect.Value) error {
	if v.IsNil() {
		e.buf = append(e.buf, "null"...)
		return nil
	}
	if v.Type().Key().Kind() != reflect.String {
		return fmt.Errorf("json: unsupported type %s", v.Type())
	}
	keys := v.MapKeys()
	sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
	e.buf = append(e.buf, '{')
	for i, k := range keys {
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		e.str(k.String())
		e.buf = append(e.buf, ':')
		if err := e.value(v.MapIndex(k)); err != nil {
			return err
		}
	}
	e.buf = append(e.buf, '}')
	return nil
}

func isEmpty(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	// Kind by kind, as encoding/json's isEmptyValue reads them (-0 is
	// empty too), rather than v.IsZero, which handles every kind and is a
	// large first call on the way to the page's first world.
	case reflect.Bool:
		return !v.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int() == 0
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return v.Uint() == 0
	case reflect.Float32, reflect.Float64:
		return v.Float() == 0
	case reflect.Interface, reflect.Pointer:
		return v.IsNil()
	}
	return false
}

const hexDigits = "0123456789abcdef"

// str writes s quoted as encoding/json does, <, > and & escaped too so the
// text is safe inside HTML, and invalid UTF-8 replaced by U+FFFD.
func (e *encoder) str(s string) {
	e.buf = append(e.buf, '"')
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' && b != '<' && b != '>' && b != '&' {
				i++
				continue
			}
			e.buf = append(e.buf, s[start:i]...)
			switch b {
			case '\\', '"':
				e.buf = append(e.buf, '\\', b)
			case '\b':
				e.buf = append(e.buf, '\\', 'b')
			case '\f':
				e.buf = append(e.buf, '\\', 'f')
			case '\n':
				e.buf = append(e.buf, '\\', 'n')
			case '\r':
				e.buf = append(e.buf, '\\', 'r')
			case '\t':
				e.buf = append(e.buf, '\\', 't')
			default:
				e.buf = append(e.buf, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xF])
			}
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		if c == utf8.RuneError && size == 1 {
			e.buf = append(e.buf, s[start:i]...)
			e.buf = append(e.buf, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if c == '\u2028' || c == '\u2029' {
			e.buf = append(e.buf, s[start:i]...)
			e.buf = append(e.buf, '\\', 'u', '2', '0', '2', hexDigits[c&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	e.buf = append(e.buf, s[start:]...)
	e.buf = append(e.buf, '"')
}

// field is a struct field as JSON sees it.
type field struct {
	name      string
	index     int
	omitEmpty bool
}

// fieldCache keeps the fields of the struct types one call has met: a
// trace is a long list of the same struct.
type fieldCache map[reflect.Type][]field

func (c *fieldCache) of(t reflect.Type) []field {
	if fs, ok := (*c)[t]; ok {
		return fs
	}
	if *c == nil {
		*c = fieldCache{}
	}
	fs := fieldsOf(t)
	(*c)[t] = fs
	return fs
}

// fieldsOf lists t's exported fields with their JSON names, in order.
func fieldsOf(t reflect.Type) []field {
	var out []field
	for i := range t.NumField() {
		sf := t.Field(i)
		if !sf.IsExported() || sf.Anonymous {
			continue
		}
		tag := jsonTag(sf.Tag)
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if name == "" {
			name = sf.Name
		}
		out = append(out, field{name: name, index: i, omitEmpty: hasOption(opts, "omitempty")})
	}
	return out
}

// jsonTag returns the json key's value in tag, as tag.Get("json") does.
// The usual tag, json:"..." first and without escapes, is read here:
// StructTag.Get unquotes every value with strconv.Unquote, one more large
// first call on the way to the page's first world.
func jsonTag(tag reflect.StructTag) string {
	if rest, ok := strings.CutPrefix(string(tag), `json:"`); ok {
		if i := strings.IndexAny(rest, `"\`); i >= 0 && rest[i] == '"' {
			return rest[:i]
		}
	}
	return tag.Get("json")
}

func hasOption(opts, want string) bool {
	for o := range strings.SplitSeq(opts, ",") {
		if o == want {
			return true
		}
	}
	return false
}

// compact writes src without insignificant space, checking it is JSON, and
// escapes <, > and & and U+2028 and U+2029 in its strings as str does.
func compact(dst *bytes.Buffer, src []byte) error {
	p := parser{data: src}
	if _, err := p.value(); err != nil {
		return err
	}
	if p.skip() != len(src) {
		return p.errorf("invalid character %q after top-level value", src[p.pos])
	}
	inString := false
	for i := 0; i < len(src); i++ {
		c := src[i]
		if inString {
			switch {
			case c == '<' || c == '>' || c == '&':
				dst.WriteString(`\u00`)
				dst.WriteByte(hexDigits[c>>4])
				dst.WriteByte(hexDigits[c&0xF])
			case c == 0xE2 && i+2 < len(src) && src[i+1] == 0x80 && src[i+2]&^1 == 0xA8:
				dst.WriteString(`\u202`)
				dst.WriteByte(hexDigits[src[i+2]&0xF])
				i += 2
			default:
				dst.WriteByte(c)
				if c == '\\' && i+1 < len(src) {
					i++
					dst.WriteByte(src[i])
				} else if c == '"' {
					inString = false
				}
			}
			continue
		}
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		case '"':
			inString = true
		}
		dst.WriteByte(c)
	}
	return nil
}

// ---- decoding ----

// decode parses data and stores it in the value v points to.
func decode(data []byte, v any, strict, useNumber bool) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("json: Unmarshal(non-pointer %T)", v)
	}
	p := parser{data: data}
	tree, err := p.value()
	if err != nil {
		return err
	}
	if p.skip() != len(data) {
		return p.errorf("invalid character %q after top-level value", data[p.pos])
	}
	d := assigner{strict: strict, useNumber: useNumber}
	return d.assign(tree, rv.Elem())
}

// object is a parsed JSON object: its members in the order written.
type object struct {
	keys []string
	vals []any
}

// parser reads JSON text into a tree: *object, []any, string, Number,
// bool and nil.
type parser struct {
	data []byte
	pos  int
}

func (p *parser) errorf(format string, args ...any) error {
	return fmt.Errorf("json: "+format+" (at byte %d)", append(args, p.pos)...)
}

// skip moves past white space and returns the new position.
func (p *parser) skip() int {
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return p.pos
		}
	}
	return p.pos
}

const maxDepth = 10000

func (p *parser) value() (any, error) { return p.valueAt(0) }

func (p *parser) valueAt(depth int) (any, error) {
	if depth > maxDepth {
		return nil, p.errorf("exceeded max depth")
	}
	p.skip()
	if p.pos >= len(p.data) {
		return nil, errors.New("unexpected end of JSON input")
	}
	switch c := p.data[p.pos]; {
	case c == '{':
		p.pos++
		obj := &object{}
		if p.skip(); p.pos < len(p.data) && p.data[p.pos] == '}' {
			p.pos++
			return obj, nil
		}
		for {
			p.skip()
			if p.pos >= len(p.data) || p.data[p.pos] != '"' {
				return nil, p.errorf("expected a string as an object key")
			}
			key, err := p.str()
			if err != nil {
				return nil, err
			}
			if p.skip(); p.pos >= len(p.data) || p.data[p.pos] != ':' {
				return nil, p.errorf("expected ':' after object key")
			}
			p.pos++
			val, err := p.valueAt(depth + 1)
			if err != nil {
				return nil, err
			}
			obj.keys = append(obj.keys, key)
			obj.vals = append(obj.vals, val)
			if more, err := p.more('}', "object value"); !more {
				return obj, err
			}
		}
	case c == '[':
		p.pos++
		list := []any{}
		if p.skip(); p.pos < len(p.data) && p.data[p.pos] == ']' {
			p.pos++
			return list, nil
		}
		for {
			val, err := p.valueAt(depth + 1)
			if err != nil {
				return nil, err
			}
			list = append(list, val)
			if more, err := p.more(']', "array element"); !more {
				return list, err
			}
		}
	case c == '"':
		return p.str()
	case c == '-' || '0' <= c && c <= '9':
		return p.number()
	case bytes.HasPrefix(p.data[p.pos:], []byte("true")):
		p.pos += 4
		return true, nil
	case bytes.HasPrefix(p.data[p.pos:], []byte("false")):
		p.pos += 5
		return false, nil
	case bytes.HasPrefix(p.data[p.pos:], []byte("null")):
		p.pos += 4
		return nil, nil
	default:
		return nil, p.errorf("invalid character %q looking for beginning of value", c)
	}
}

// more reads what follows an element of an object or an array: a comma,
// with more to come, or the closing byte.
func (p *parser) more(closing byte, what string) (bool, error) {
	p.skip()
	if p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ',':
			p.pos++
			return true, nil
		case closing:
			p.pos++
			return false, nil
		}
	}
	return false, p.errorf("expected ',' or '%c' after %s", closing, what)
}

// number reads a number as RFC 8259 §6 writes it.
func (p *parser) number() (any, error) {
	start := p.pos
	d := p.data
	if p.pos < len(d) && d[p.pos] == '-' {
		p.pos++
	}
	digits := func() int {
		n := 0
		for p.pos < len(d) && '0' <= d[p.pos] && d[p.pos] <= '9' {
			p.pos++
			n++
		}
		return n
	}
	switch {
	case p.pos < len(d) && d[p.pos] == '0':
		p.pos++
	case digits() == 0:
		return nil, p.errorf("invalid number")
	}
	if p.pos < len(d) && d[p.pos] == '.' {
		p.pos++
		if digits() == 0 {
			return nil, p.errorf("invalid number")
		}
	}
	if p.pos < len(d) && (d[p.pos] == 'e' || d[p.pos] == 'E') {
		p.pos++
		if p.pos < len(d) && (d[p.pos] == '+' || d[p.pos] == '-') {
			p.pos++
		}
		if digits() == 0 {
			return nil, p.errorf("invalid number")
		}
	}
	return Number(d[start:p.pos]), nil
}

// str reads a string, undoing its escapes.
func (p *parser) str() (string, error) {
	p.pos++ // the opening quote
	var b []byte
	start := p.pos
	for p.pos < len(p.data) {
		c := p.data[p.pos]
		switch {
		case c == '"':
			s := string(append(b, p.data[start:p.pos]...))
			p.pos++
			return s, nil
		case c < 0x20:
			return "", p.errorf("invalid character %q in string literal", c)
		case c == '\\':
			b = append(b, p.data[start:p.pos]...)
			p.pos++
			if p.pos >= len(p.data) {
				return "", errors.New("unexpected end of JSON input")
			}
			switch e := p.data[p.pos]; e {
			case '"', '\\', '/':
				b = append(b, e)
			case 'b':
				b = append(b, '\b')
			case 'f':
				b = append(b, '\f')
			case 'n':
				b = append(b, '\n')
			case 'r':
				b = append(b, '\r')
			case 't':
				b = append(b, '\t')
			case 'u':
				r, ok := p.hex4(p.pos + 1)
				if !ok {
					return "", p.errorf("invalid \\u escape")
				}
				p.pos += 4
				if utf16.IsSurrogate(r) {
					if r2, ok := p.hex4(p.pos + 3); ok && p.data[p.pos+1] == '\\' && p.data[p.pos+2] == 'u' {
						if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
							r = dec
							p.pos += 6
						} else {
							r = utf8.RuneError
						}
					} else {
						r = utf8.RuneError
					}
				}
				b = utf8.AppendRune(b, r)
			default:
				return "", p.errorf("invalid escape \\%c in string", e)
			}
			p.pos++
			start = p.pos
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRune(p.data[p.pos:])
			if r == utf8.RuneError && size == 1 {
				b = append(b, p.data[start:p.pos]...)
				b = utf8.AppendRune(b, utf8.RuneError)
				p.pos++
				start = p.pos
				continue
			}
			p.pos += size
		default:
			p.pos++
		}
	}
	return "", errors.New("unexpected end of JSON input")
}

func (p *parser) hex4(at int) (rune, bool) {
	if at+4 > len(p.data) {
		return 0, false
	}
	n, err := strconv.ParseUint(string(p.data[at:at+4]), 16, 16)
	return rune(n), err == nil
}

// mayHaveMethods reports whether t or *t may have methods: only types
// declared in a package do, and unnamed structs, through embedded fields.
// Asking before reflect.PointerTo spares the search through every type of
// the program that PointerTo makes for a pointer type the program never
// names (a *[]string, a *map[string]int), the first time it meets it.
func mayHaveMethods(t reflect.Type) bool {
	return t.PkgPath() != "" || t.Kind() == reflect.Struct
}

// bytesLike says whether a slice type is written as a base64 string, as
// encoding/json writes []byte: its elements are bytes that do not write
// their own JSON.
func bytesLike(t reflect.Type) bool {
	if t.Elem().Kind() != reflect.Uint8 {
		return false
	}
	p := reflect.PointerTo(t.Elem())
	return !p.Implements(marshalerType) && !p.Implements(textMarshalerType)
}

// assigner stores a parsed tree in Go values.
type assigner struct {
	strict, useNumber bool
	fields            fieldCache
}

var (
	unmarshalerType     = reflect.TypeFor[Unmarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
)

func (d *assigner) assign(tree any, v reflect.Value) error {
	if v.CanAddr() && mayHaveMethods(v.Type()) {
		pt := reflect.PointerTo(v.Type())
		if pt.Implements(unmarshalerType) {
			// The method gets the value's text again; numbers keep theirs.
			plain, _ := (&assigner{useNumber: true}).plain(tree)
			text, err := Marshal(plain)
			if err != nil {
				return err
			}
			return v.Addr().Interface().(Unmarshaler).UnmarshalJSON(text)
		}
		if s, ok := tree.(string); ok && pt.Implements(textUnmarshalerType) {
			return v.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(s))
		}
	}
	if tree == nil {
		switch v.Kind() {
		case reflect.Interface, reflect.Pointer, reflect.Map, reflect.Slice:
			v.SetZero()
		}
		return nil // encoding/json leaves other kinds as they are
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		return d.assign(tree, v.Elem())
	case reflect.Interface:
		if v.NumMethod() != 0 {
			return mismatch(tree, v.Type())
		}
		plain, err := d.plain(tree)
		if err != nil {
			return err
		}
		v.Set(reflect.ValueOf(plain))
		return nil
	}
	switch t := tree.(type) {
	case bool:
		if v.Kind() != reflect.Bool {
			return mismatch(tree, v.Type())
		}
		v.SetBool(t)
	case string:
		if v.Kind() == reflect.Slice && bytesLike(v.Type()) {
			b, err := base64.StdEncoding.DecodeString(t)
			if err != nil {
				return err
			}
			v.SetBytes(b)
			return nil
		}
		if v.Kind() != reflect.String {
			return mismatch(tree, v.Type())
		}
		v.SetString(t)
	case Number:
		return d.number(t, v)
	case []any:
		switch v.Kind() {
		case reflect.Slice:
			s := reflect.MakeSlice(v.Type(), len(t), len(t))
			for i, x := range t {
				if err := d.assign(x, s.Index(i)); err != nil {
					return err
				}
			}
			v.Set(s)
		case reflect.Array:
			for i := range v.Len() {
				if i < len(t) {
					if err := d.assign(t[i], v.Index(i)); err != nil {
						return err
					}
				} else {
					v.Index(i).SetZero()
				}
			}
		default:
			return mismatch(tree, v.Type())
		}
	case *object:
		switch v.Kind() {
		case reflect.Struct:
			return d.object(t, v)
		case reflect.Map:
			if v.Type().Key().Kind() != reflect.String {
				return mismatch(tree, v.Type())
			}
			if v.IsNil() {
				v.Set(reflect.MakeMap(v.Type()))
			}
			for i, k := range t.keys {
				elem := reflect.New(v.Type().Elem()).Elem()
				if err := d.assign(t.vals[i], elem); err != nil {
					return err
				}
				// SetString, not Convert: the key's type is of string kind,
				// and Convert's general machinery is a large first call.
				key := reflect.New(v.Type().Key()).Elem()
				key.SetString(k)
				v.SetMapIndex(key, elem)
			}
		default:
			return mismatch(tree, v.Type())
		}
	}
	return nil
}

func (d *assigner) object(obj *object, v reflect.Value) error {
	fields := d.fields.of(v.Type())
	for i, k := range obj.keys {
		found := false
		for _, f := range fields {
			if f.name == k {
				found = true
				if err := d.assign(obj.vals[i], v.Field(f.index)); err != nil {
					return err
				}
				break
			}
		}
		if !found && d.strict {
			return fmt.Errorf("json: unknown field %q", k)
		}
	}
	return nil
}

func (d *assigner) number(n Number, v reflect.Value) error {
	switch v.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		i, err := strconv.ParseInt(string(n), 10, 64)
		if err != nil || v.OverflowInt(i) {
			return fmt.Errorf("json: cannot unmarshal number %s into Go value of type %s", n, v.Type())
		}
		v.SetInt(i)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		u, err := strconv.ParseUint(string(n), 10, 64)
		if err != nil || v.OverflowUint(u) {
			return fmt.Errorf("json: cannot unmarshal number %s into Go value of type %s", n, v.Type())
		}
		v.SetUint(u)
	case reflect.Float32, reflect.Float64:
		f, err := strconv.ParseFloat(string(n), v.Type().Bits())
		if err != nil || v.OverflowFloat(f) {
			return fmt.Errorf("json: cannot unmarshal number %s into Go value of type %s", n, v.Type())
		}
		v.SetFloat(f)
	case reflect.String:
		if v.Type() != reflect.TypeFor[Number]() {
			return mismatch(n, v.Type())
		}
		v.SetString(string(n))
	default:
		return mismatch(n, v.Type())
	}
	return nil
}

// plain turns a parsed tree into what encoding/json gives an interface
// value: map[string]any, []any, string, float64 (or Number), bool, nil.
func (d *assigner) plain(tree any) (any, error) {
	switch t := tree.(type) {
	case *object:
		m := make(map[string]any, len(t.keys))
		for i, k := range t.keys {
			v, err := d.plain(t.vals[i])
			if err != nil {
				return nil, err
			}
			m[k] = v
		}
		return m, nil
	case []any:
		out := make([]any, len(t))
		for i, x := range t {
			v, err := d.plain(x)
			if err != nil {
				return nil, err
			}
			out[i] = v
		}
		return out, nil
	case Number:
		if d.useNumber {
			return t, nil
		}
		f, err := strconv.ParseFloat(string(t), 64)
		if err != nil {
			return nil, fmt.Errorf("json: cannot unmarshal number %s into Go value of type float64", t)
		}
		return f, nil
	}
	return tree, nil
}

func mismatch(tree any, t reflect.Type) error {
	kind := "object"
	switch tree.(type) {
	case bool:
		kind = "bool"
	case string:
		kind = "string"
	case Number:
		kind = "number"
	case []any:
		kind = "array"
	}
	return fmt.Errorf("json: cannot unmarshal %s into Go value of type %s", kind, t)
}
