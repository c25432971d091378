package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const lesson = `---
title: T
order: %d
scenario: first-session
summary: S
goals:
  - {id: g, text: T, reply: {code: 250}}
hints: [h]
solution:
  - type: QUIT
---
Body.
`

func write(t *testing.T, dir, name, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestShippedLessonsAreClean(t *testing.T) {
	var out, errs bytes.Buffer
	if code := run([]string{"../.."}, &out, &errs); code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out.String(), errs.String())
	}
	if !strings.HasSuffix(out.String(), "lessons, no problems\n") {
		t.Fatalf("output %q", out.String())
	}
}

func TestReportsProblemsWithTheirFile(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "a.md", strings.Replace(lesson, "%d", "1", 1))
	write(t, dir, "b.md", strings.Replace(strings.Replace(lesson, "%d", "1", 1), "hints: [h]\n", "", 1))
	write(t, dir, "c.md", "no front matter\n")
	write(t, dir, "notes.txt", "not a lesson")

	var out, errs bytes.Buffer
	code := run([]string{dir}, &out, &errs)
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, out.String())
	}
	for _, want := range []string{
		dir + ": lesson c: no front matter",
		filepath.Join(dir, "b.md") + ": hints: none",
		filepath.Join(dir, "a.md") + ": order: 1 is also the order of b",
		filepath.Join(dir, "b.md") + ": order: 1 is also the order of a",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestScenariosFlag(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "a.md", strings.Replace(lesson, "%d", "1", 1))
	var out, errs bytes.Buffer
	if code := run([]string{"-scenarios", "greylisting,mx-routing", dir}, &out, &errs); code != 1 ||
		!strings.Contains(out.String(), `scenario: "first-session" is not a known scenario`) {
		t.Fatalf("exit %d, output %q", code, out.String())
	}
	if code := run(nil, &out, &errs); code != 2 || !strings.Contains(errs.String(), "usage:") {
		t.Fatalf("no arguments: exit %d, stderr %q", code, errs.String())
	}
}
