package main

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
)

// The WebAssembly binary format (https://webassembly.github.io/spec/core/binary/):
// a header, then sections, each an id octet, its size as an unsigned LEB128
// and its contents. Only the sections below are looked into; the others are
// copied as they are.
const (
	sectionData      = 11 // the data segments that initialise linear memory
	sectionDataCount = 12 // how many data segments there are, when present
)

// header is the magic number and version 1 every module starts with.
var header = []byte{0x00, 'a', 's', 'm', 0x01, 0x00, 0x00, 0x00}

// packStats says what packing did.
type packStats struct {
	segmentsBefore, segmentsAfter int
	sizeBefore, sizeAfter         int
	buckets                       int // of the function table a start function writes instead (0: none)
}

// segment is an active data segment of memory 0 whose offset is a constant:
// the only kind Go's linker writes.
type segment struct {
	offset uint32
	data   []byte
}

// packDataSegments returns module with every run of at most maxGap zero
// octets between two data segments written out as part of one merged
// segment, so that the module has far fewer segments. Linear memory starts
// zeroed, so the memory the module starts with is the same octet for octet.
//
// Why: Go's linker ends a segment at every run of eight or more zero
// octets, up to 100,000 segments. Each segment's header (its offset above
// all) is a few octets that compress badly, while a run of zeros costs
// almost nothing once compressed. For the lab's engine, merging takes
// 100,000 segments down to a few dozen and the engine down by about 106 KB
// with brotli (5.5%), though it grows by 9% raw: the browser decodes a
// megabyte more of zeros, and the page still reached its greeting sooner
// (BenchmarkPageLoad with SMTPLAB_BENCH_REF, paired loads).
//
// A module it cannot read, or whose segments are not what Go writes
// (active, in memory 0, at constant offsets, none overlapping another),
// is an error.
func packDataSegments(module []byte, maxGap int) ([]byte, packStats, error) {
	stats := packStats{sizeBefore: len(module)}
	sections, err := readSections(module)
	if err != nil {
		return nil, stats, err
	}
	var segs []segment
	for _, s := range sections {
		if s.id == sectionData {
			if segs, err = readSegments(s.body); err != nil {
				return nil, stats, fmt.Errorf("data section: %w", err)
			}
		}
	}
	if len(segs) == 0 {
		return nil, stats, errors.New("no data segments")
	}
	stats.segmentsBefore = len(segs)
	// The runtime's table of function buckets is written by a start
	// function instead, when the module has it and can take one (see
	// buckets.go); otherwise it stays in the segments.
	if t, ok := findBucketTable(segs); ok {
		if withFill, err := addStartFunction(sections, t.fillBody()); err == nil {
			sections = withFill
			segs = cutSegments(segs, t.offset, t.offset+uint32(t.count*bucketSize))
			stats.buckets = t.count
		}
	}
	merged := mergeSegments(segs, maxGap)
	stats.segmentsAfter = len(merged)
	out := append(make([]byte, 0, len(module)), header...)
	for _, s := range sections {
		switch s.id {
		case sectionData:
			out = appendSection(out, s.id, appendSegments(nil, merged))
		case sectionDataCount: // must agree with the data section
			out = appendSection(out, s.id, binary.AppendUvarint(nil, uint64(len(merged))))
		default:
			out = appendSection(out, s.id, s.body)
		}
	}
	stats.sizeAfter = len(out)
	return out, stats, nil
}

// section is one section of a module: its id and its contents.
type section struct {
	id   byte
	body []byte
}

// readSections splits a module into its sections.
func readSections(module []byte) ([]section, error) {
	if len(module) < len(header) || string(module[:len(header)]) != string(header) {
		return nil, errors.New("not a WebAssembly module (version 1)")
	}
	var sections []section
	for rest := module[len(header):]; len(rest) > 0; {
		id := rest[0]
		size, n := binary.Uvarint(rest[1:])
		if n <= 0 || size > uint64(len(rest)-1-n) {
			return nil, fmt.Errorf("section %d at octet %d: bad size", id, len(module)-len(rest))
		}
		sections = append(sections, section{id: id, body: rest[1+n : 1+n+int(size)]})
		rest = rest[1+n+int(size):]
	}
	return sections, nil
}

// readSegments reads the segments of a data section, in the order of
// their offsets.
func readSegments(body []byte) ([]segment, error) {
	count, n := binary.Uvarint(body)
	if n <= 0 {
		return nil, errors.New("bad segment count")
	}
	body = body[n:]
	segs := make([]segment, 0, min(count, uint64(len(body))))
	for i := uint64(0); i < count; i++ {
		// Active segment of memory 0 (0x00), its offset an i32.const
		// (0x41, a signed LEB128) ended by end (0x0b), then the octets.
		if len(body) < 2 || body[0] != 0x00 || body[1] != 0x41 {
			return nil, fmt.Errorf("segment %d is not an active segment at a constant offset", i)
		}
		offset, n := readSLEB128(body[2:])
		if n <= 0 || offset < 0 || offset > 1<<32-1 || len(body) < 2+n+1 || body[2+n] != 0x0b {
			return nil, fmt.Errorf("segment %d: bad offset", i)
		}
		body = body[2+n+1:]
		size, n := binary.Uvarint(body)
		if n <= 0 || size > uint64(len(body)-n) {
			return nil, fmt.Errorf("segment %d: bad size", i)
		}
		segs = append(segs, segment{offset: uint32(offset), data: body[n : n+int(size)]})
		body = body[n+int(size):]
	}
	if len(body) != 0 {
		return nil, errors.New("octets after the last segment")
	}
	// Go writes each of its sections' segments in order, but not the
	// sections themselves. Segments that overlap would make the memory
	// depend on their order, which merging could change.
	slices.SortStableFunc(segs, func(a, b segment) int { return cmp.Compare(a.offset, b.offset) })
	for i := 1; i < len(segs); i++ {
		if prev := segs[i-1]; uint64(prev.offset)+uint64(len(prev.data)) > uint64(segs[i].offset) {
			return nil, fmt.Errorf("the segments at %#x and %#x overlap", prev.offset, segs[i].offset)
		}
	}
	return segs, nil
}

// mergeSegments joins neighbours no more than maxGap octets apart, with
// the zeros between them written out.
func mergeSegments(segs []segment, maxGap int) []segment {
	var merged []segment
	for _, s := range segs {
		if k := len(merged) - 1; k >= 0 {
			last := &merged[k]
			gap := int64(s.offset) - int64(last.offset) - int64(len(last.data))
			if gap <= int64(maxGap) {
				last.data = append(last.data, make([]byte, gap)...)
				last.data = append(last.data, s.data...)
				continue
			}
		}
		// A copy: the merged segment grows, and must not grow into the
		// module it was read from.
		merged = append(merged, segment{offset: s.offset, data: append([]byte(nil), s.data...)})
	}
	return merged
}

// appendSegments appends the body of a data section holding segs.
func appendSegments(b []byte, segs []segment) []byte {
	b = binary.AppendUvarint(b, uint64(len(segs)))
	for _, s := range segs {
		b = append(b, 0x00, 0x41)
		b = appendSLEB128(b, int64(s.offset))
		b = append(b, 0x0b)
		b = binary.AppendUvarint(b, uint64(len(s.data)))
		b = append(b, s.data...)
	}
	return b
}

// appendSection appends a section with its id and size.
func appendSection(b []byte, id byte, body []byte) []byte {
	b = append(b, id)
	b = binary.AppendUvarint(b, uint64(len(body)))
	return append(b, body...)
}

// appendSLEB128 appends v as a signed LEB128, the encoding of i32.const.
func appendSLEB128(b []byte, v int64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

// readSLEB128 reads the signed LEB128 at the start of b and returns it
// and its length, or a length of 0 if b does not start with one that fits
// in 64 bits.
func readSLEB128(b []byte) (int64, int) {
	var v int64
	var shift uint
	for i, c := range b {
		if shift >= 64 {
			return 0, 0
		}
		v |= int64(c&0x7f) << shift
		shift += 7
		if c&0x80 == 0 {
			if shift < 64 && c&0x40 != 0 {
				v |= -1 << shift // negative: extend the sign
			}
			return v, i + 1
		}
	}
	return 0, 0
}
