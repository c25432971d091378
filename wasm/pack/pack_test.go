package main

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"
)

// module builds a module from sections (id, body), after the header.
func module(sections ...section) []byte {
	b := append([]byte(nil), header...)
	for _, s := range sections {
		b = appendSection(b, s.id, s.body)
	}
	return b
}

// memorySection declares one memory of the given pages, as Go's does.
func memorySection(pages uint64) section {
	return section{id: 5, body: binary.AppendUvarint([]byte{0x01, 0x00}, pages)}
}

// memoryImage is the memory a module starts with: its data segments
// written into zeroed octets.
func memoryImage(t *testing.T, mod []byte) []byte {
	t.Helper()
	sections, err := readSections(mod)
	if err != nil {
		t.Fatal(err)
	}
	var mem []byte
	for _, s := range sections {
		if s.id != sectionData {
			continue
		}
		segs, err := readSegments(s.body)
		if err != nil {
			t.Fatal(err)
		}
		for _, seg := range segs {
			end := int(seg.offset) + len(seg.data)
			if end > len(mem) {
				mem = append(mem, make([]byte, end-len(mem))...)
			}
			copy(mem[seg.offset:], seg.data)
		}
	}
	return mem
}

// dataSection is the body of a data section holding segs.
func dataSection(segs ...segment) section {
	return section{id: sectionData, body: appendSegments(nil, segs)}
}

func TestPackMergesSegmentsCloseTogether(t *testing.T) {
	in := module(memorySection(1),
		dataSection(
			segment{offset: 1 << 20, data: []byte("mno")}, // offset of three LEB128 octets; sections come in any order
			segment{offset: 16, data: []byte("abc")},
			segment{offset: 19, data: []byte("def")},      // touching: merged
			segment{offset: 22 + 64, data: []byte("ghi")}, // 64 zeros apart: merged
			segment{offset: 89 + 65, data: []byte("jkl")}, // 65 zeros apart: a segment of its own
		),
		section{id: 0, body: []byte("\x04namexyz")}, // a custom section after it is kept
	)
	out, stats, err := packDataSegments(in, 64)
	if err != nil {
		t.Fatal(err)
	}
	if stats.segmentsBefore != 5 || stats.segmentsAfter != 3 {
		t.Errorf("segments %d → %d, want 5 → 3", stats.segmentsBefore, stats.segmentsAfter)
	}
	if stats.sizeBefore != len(in) || stats.sizeAfter != len(out) {
		t.Errorf("sizes %d → %d, want %d → %d", stats.sizeBefore, stats.sizeAfter, len(in), len(out))
	}
	if !bytes.Equal(memoryImage(t, in), memoryImage(t, out)) {
		t.Error("the packed module starts with another memory")
	}
	sections, err := readSections(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(sections) != 3 || sections[0].id != 5 || sections[2].id != 0 || string(sections[2].body) != "\x04namexyz" {
		t.Errorf("the other sections changed: %+v", sections)
	}
	segs, _ := readSegments(sections[1].body)
	want := []segment{
		{offset: 16, data: append([]byte("abcdef"+strings.Repeat("\x00", 64)), "ghi"...)},
		{offset: 154, data: []byte("jkl")},
		{offset: 1 << 20, data: []byte("mno")},
	}
	if len(segs) != len(want) {
		t.Fatalf("segments %+v, want %+v", segs, want)
	}
	for i := range want {
		if segs[i].offset != want[i].offset || !bytes.Equal(segs[i].data, want[i].data) {
			t.Errorf("segment %d: %d %q, want %d %q", i, segs[i].offset, segs[i].data, want[i].offset, want[i].data)
		}
	}
	// Packing must not write into the module it read.
	if again, _, _ := packDataSegments(in, 64); !bytes.Equal(again, out) {
		t.Error("packing the same module twice gave two results")
	}
}

func TestPackUpdatesDataCount(t *testing.T) {
	in := module(memorySection(1),
		section{id: sectionDataCount, body: []byte{3}},
		section{id: 10, body: []byte{0}}, // an empty code section between them
		dataSection(segment{offset: 0, data: []byte("a")}, segment{offset: 1, data: []byte("b")}, segment{offset: 2, data: []byte("c")}),
	)
	out, _, err := packDataSegments(in, 64)
	if err != nil {
		t.Fatal(err)
	}
	sections, _ := readSections(out)
	if sections[1].id != sectionDataCount || !bytes.Equal(sections[1].body, []byte{1}) {
		t.Errorf("data count section %+v, want a count of 1", sections[1])
	}
}

func TestPackRefusesWhatGoDoesNotWrite(t *testing.T) {
	seg := func(s string) section { return section{id: sectionData, body: []byte(s)} }
	for _, tc := range []struct {
		name string
		mod  []byte
		want string
	}{
		{"not wasm", []byte("\x7fELF\x02\x01\x01\x00"), "not a WebAssembly module"},
		{"version 2", []byte("\x00asm\x02\x00\x00\x00"), "not a WebAssembly module"},
		{"truncated section", append(append([]byte(nil), header...), 11, 9, 0), "bad size"},
		{"no data", module(memorySection(1)), "no data segments"},
		{"passive segment", module(seg("\x01\x01\x01a")), "not an active segment"},
		{"offset from a global", module(seg("\x01\x00\x23\x00\x0b\x01a")), "not an active segment"},
		{"offset not ended", module(seg("\x01\x00\x41\x00\x00\x01a")), "bad offset"},
		{"negative offset", module(seg("\x01\x00\x41\x7f\x0b\x01a")), "bad offset"},
		{"segment too long", module(seg("\x01\x00\x41\x00\x0b\x05a")), "bad size"},
		{"overlap", module(dataSection(segment{offset: 4, data: []byte("ab")}, segment{offset: 5, data: []byte("c")})), "overlap"},
		{"overlap out of order", module(dataSection(segment{offset: 5, data: []byte("c")}, segment{offset: 4, data: []byte("ab")})), "0x4 and 0x5 overlap"},
		{"trailing octets", module(seg("\x01\x00\x41\x00\x0b\x01ax")), "after the last segment"},
	} {
		_, _, err := packDataSegments(tc.mod, 64)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one saying %q", tc.name, err, tc.want)
		}
	}
}

func TestSLEB128(t *testing.T) {
	for _, v := range []int64{0, 1, 63, 64, -1, -64, -65, 127, 128, 1 << 20, 1<<31 - 1, 1<<32 - 1, -1 << 31} {
		b := appendSLEB128(nil, v)
		got, n := readSLEB128(append(b, 0xff))
		if got != v || n != len(b) {
			t.Errorf("%d: encoded % x, read back %d in %d octets", v, b, got, n)
		}
	}
	// Known encodings from the WebAssembly spec's examples.
	if b := appendSLEB128(nil, -123456); !bytes.Equal(b, []byte{0xc0, 0xbb, 0x78}) {
		t.Errorf("-123456 encoded % x", b)
	}
	if _, n := readSLEB128([]byte{0x80, 0x80}); n != 0 {
		t.Error("an unfinished LEB128 was read")
	}
	if _, n := readSLEB128(bytes.Repeat([]byte{0x80}, 11)); n != 0 {
		t.Error("a LEB128 longer than 64 bits was read")
	}
}
