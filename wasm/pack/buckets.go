package main

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
)

// Go's runtime finds the function a program counter belongs to with a
// table, findfunctab, of one 20-octet bucket per 4096 PCs: the index of a
// function (uint32) and 16 octets of offsets from it. In a js/wasm build a
// PC is a function's number times 65,536 plus a resume point, so every
// function covers 16 buckets of its own and all their offsets are zero:
// bucket i holds i/16 and nothing else. For the lab's engine that is
// 103,873 buckets, 2 MB of the 4.7 MB its data segments write, and all of
// it follows from one count.
//
// So pack leaves such a table out of the data segments and gives the
// module a small function, run as its start function, that writes it: a
// start function runs once the data segments are in memory and before
// anything can call the module, so the program starts with the same memory
// octet for octet. The browser has 2 MB less to decode, pass on and copy
// before the engine runs, for 0.3 ms of a loop.
const (
	bucketSize = 20   // octets: the uint32 index, then 16 offsets
	funcShift  = 4    // a bucket's index is its number >> 4 (16 buckets a function)
	minBuckets = 1024 // a shorter table is not worth a function
)

// bucketTable is a run of count buckets from offset in memory, bucket i
// holding the index i>>funcShift and zero offsets.
type bucketTable struct {
	offset uint32
	count  int
}

// bucket appends the 20 octets of bucket i of a table to b.
func bucket(b []byte, i int) []byte {
	b = binary.LittleEndian.AppendUint32(b, uint32(i>>funcShift))
	return append(b, make([]byte, bucketSize-4)...)
}

// findBucketTable looks, in the memory the segments write, for the
// longest run of at least minBuckets buckets as Go writes them for
// js/wasm. segs must be in the order of their offsets, none overlapping.
func findBucketTable(segs []segment) (bucketTable, bool) {
	if len(segs) == 0 {
		return bucketTable{}, false
	}
	base := segs[0].offset
	last := segs[len(segs)-1]
	image := make([]byte, int(last.offset-base)+len(last.data))
	for _, s := range segs {
		copy(image[s.offset-base:], s.data)
	}
	// A table starts with the buckets of its first three functions: zeros,
	// then ones, then twos, which pins where its first bucket begins.
	var start []byte
	for i := range 3 << funcShift {
		start = bucket(start, i)
	}
	var best bucketTable
	for from := 0; ; {
		at := bytes.Index(image[from:], start)
		if at < 0 {
			break
		}
		at += from
		n := 0
		var want []byte
		for {
			want = bucket(want[:0], n)
			end := at + (n+1)*bucketSize
			if end > len(image) || !bytes.Equal(image[end-bucketSize:end], want) {
				break
			}
			n++
		}
		if n > best.count {
			best = bucketTable{offset: base + uint32(at), count: n}
		}
		from = at + n*bucketSize
	}
	return best, best.count >= minBuckets
}

// cutSegments returns segs without the octets from lo up to hi.
func cutSegments(segs []segment, lo, hi uint32) []segment {
	var out []segment
	for _, s := range segs {
		end := s.offset + uint32(len(s.data))
		if end <= lo || s.offset >= hi {
			out = append(out, s)
			continue
		}
		if s.offset < lo {
			out = append(out, segment{offset: s.offset, data: s.data[:lo-s.offset]})
		}
		if end > hi {
			out = append(out, segment{offset: hi, data: s.data[hi-s.offset:]})
		}
	}
	return out
}

// fillBody is the body of the function that writes t: its locals and its
// code, in the binary format.
//
//	(local $bucket i32) (local $at i32)
//	(local.set $at (i32.const offset))
//	(loop
//	  (i32.store (local.get $at) (i32.shr_u (local.get $bucket) (i32.const 4)))
//	  (local.set $at (i32.add (local.get $at) (i32.const 20)))
//	  (br_if 0 (i32.lt_u (local.tee $bucket (i32.add (local.get $bucket) (i32.const 1))) (i32.const count))))
func (t bucketTable) fillBody() []byte {
	b := []byte{0x01, 0x02, 0x7f} // one run of locals: two i32
	b = append(b, 0x41)           // i32.const
	b = appendSLEB128(b, int64(int32(t.offset)))
	b = append(b,
		0x21, 0x01, // local.set $at
		0x03, 0x40, // loop, no result
		0x20, 0x01, // local.get $at
		0x20, 0x00, // local.get $bucket
		0x41, funcShift, // i32.const 4
		0x76,             // i32.shr_u
		0x36, 0x02, 0x00, // i32.store, aligned to 4, offset 0
		0x20, 0x01, 0x41, bucketSize, 0x6a, 0x21, 0x01, // $at += 20
		0x20, 0x00, 0x41, 0x01, 0x6a, 0x22, 0x00, // $bucket + 1, kept
		0x41, // i32.const
	)
	b = appendSLEB128(b, int64(t.count))
	return append(b,
		0x49,       // i32.lt_u
		0x0d, 0x00, // br_if the loop
		0x0b, // end of the loop
		0x0b, // end of the function
	)
}

// Section ids addStartFunction reads or writes.
const (
	sectionType     = 1
	sectionImport   = 2
	sectionFunction = 3
	sectionStart    = 8
	sectionElement  = 9
	sectionCode     = 10
)

// addStartFunction returns sections with one more function, of type
// [] → [] and with the given body, run as the module's start function. A
// module that has a start function already, or whose sections it cannot
// read, is an error.
func addStartFunction(sections []section, body []byte) ([]section, error) {
	var imported, types, funcs, codes uint64
	var haveTypes, haveFuncs, haveCode bool
	for _, s := range sections {
		var err error
		switch s.id {
		case sectionStart:
			return nil, errors.New("the module has a start function already")
		case sectionType:
			types, err = count(s.body)
			haveTypes = true
		case sectionImport:
			imported, err = importedFunctions(s.body)
		case sectionFunction:
			funcs, err = count(s.body)
			haveFuncs = true
		case sectionCode:
			codes, err = count(s.body)
			haveCode = true
		}
		if err != nil {
			return nil, fmt.Errorf("section %d: %w", s.id, err)
		}
	}
	if !haveTypes || !haveFuncs || !haveCode || funcs != codes {
		return nil, errors.New("no type, function and code sections that agree")
	}
	var out []section
	started := false
	for _, s := range sections {
		switch s.id {
		case sectionType:
			s.body = recount(s.body, types+1, []byte{0x60, 0x00, 0x00}) // [] → []
		case sectionFunction:
			s.body = recount(s.body, funcs+1, binary.AppendUvarint(nil, types))
		case sectionCode:
			s.body = recount(s.body, codes+1, append(binary.AppendUvarint(nil, uint64(len(body))), body...))
		}
		// The start section comes after the exports and before the
		// elements, the data count, the code and the data.
		if !started && (s.id == sectionElement || s.id == sectionDataCount || s.id == sectionCode || s.id == sectionData) {
			out = append(out, section{id: sectionStart, body: binary.AppendUvarint(nil, imported+funcs)})
			started = true
		}
		out = append(out, s)
	}
	return out, nil
}

// count reads the number of entries a section starts with.
func count(body []byte) (uint64, error) {
	n, k := binary.Uvarint(body)
	if k <= 0 {
		return 0, errors.New("bad count")
	}
	return n, nil
}

// recount returns a section's body with its count set to n and entry
// appended after its entries.
func recount(body []byte, n uint64, entry []byte) []byte {
	_, k := binary.Uvarint(body)
	b := binary.AppendUvarint(nil, n)
	b = append(b, body[k:]...)
	return append(b, entry...)
}

// importedFunctions counts the functions an import section imports: they
// come before the module's own in the numbering of functions.
func importedFunctions(body []byte) (uint64, error) {
	r := reader{b: body}
	n := r.uvarint()
	var funcs uint64
	for i := uint64(0); i < n && r.err == nil; i++ {
		r.skip(int(r.uvarint())) // module name
		r.skip(int(r.uvarint())) // field name
		switch kind := r.byte(); kind {
		case 0x00: // function: its type
			r.uvarint()
			funcs++
		case 0x01: // table: a reference type, limits
			r.byte()
			r.limits()
		case 0x02: // memory: limits
			r.limits()
		case 0x03: // global: a value type, mutability
			r.byte()
			r.byte()
		default:
			return 0, fmt.Errorf("import %d is of a kind pack does not know (%#x)", i, kind)
		}
	}
	if r.err != nil {
		return 0, r.err
	}
	return funcs, nil
}

// reader reads the binary format, remembering the first error.
type reader struct {
	b   []byte
	err error
}

func (r *reader) fail() {
	if r.err == nil {
		r.err = errors.New("truncated")
	}
	r.b = nil
}

func (r *reader) uvarint() uint64 {
	v, k := binary.Uvarint(r.b)
	if k <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[k:]
	return v
}

func (r *reader) byte() byte {
	if len(r.b) == 0 {
		r.fail()
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *reader) skip(n int) {
	if n < 0 || n > len(r.b) {
		r.fail()
		return
	}
	r.b = r.b[n:]
}

func (r *reader) limits() {
	if flags := r.byte(); flags&^1 != 0 {
		r.err = fmt.Errorf("limits with flags %#x", flags)
	} else {
		r.uvarint()
		if flags&1 != 0 {
			r.uvarint()
		}
	}
}
